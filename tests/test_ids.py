"""Public ids: prefixed, time-ordered, strictly increasing, validated."""

from __future__ import annotations

import itertools
import os
import time

from payymo import ids


def test_new_id_has_the_prefix_and_a_26_char_body():
    value = ids.new_id("inv")
    head, _, body = value.partition("_")
    assert head == "inv"
    assert len(body) == 26
    assert ids.is_valid(value, "inv")


def test_ids_are_strictly_increasing_in_a_tight_loop():
    values = [ids.new_id("txn") for _ in range(5000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_ids_are_time_ordered():
    first = ids.new_id("evt")
    time.sleep(0.005)
    second = ids.new_id("evt")
    assert first < second
    # The first 10 body characters encode milliseconds: a later id has a later stamp.
    assert first[4:14] < second[4:14]


def test_ids_are_not_guessable():
    a, b = ids.new_id("ten"), ids.new_id("ten")
    time.sleep(0.002)
    c = ids.new_id("ten")
    # Ids minted in different milliseconds share no random tail.
    assert a[-16:] != c[-16:]
    assert b != a


def test_an_id_of_the_same_millisecond_is_not_predictable_from_its_neighbour():
    values = [ids.new_id("inv") for _ in range(2000)]
    assert values == sorted(values) and len(set(values)) == len(values)
    same_ms = [(a, b) for a, b in itertools.pairwise(values) if a[4:14] == b[4:14]]
    assert len(same_ms) > 100  # a tight loop mints many ids per millisecond
    steps = {_random_part(b) - _random_part(a) for a, b in same_ms}
    # Not "+1": each step is random, so knowing one id does not give the next one.
    assert 1 not in steps
    assert len(steps) == len(same_ms)


def _random_part(value: str) -> int:
    body = value.partition("_")[2]
    number = 0
    for char in body:
        number = number * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    return number & ((1 << 80) - 1)


def test_is_valid_rejects_wrong_prefix_and_malformed_bodies():
    good = ids.new_id("inv")
    assert not ids.is_valid(good, "txn")
    assert not ids.is_valid(good.replace("inv_", "inv"), "inv")
    assert not ids.is_valid(good + "0", "inv")
    assert not ids.is_valid(good[:-1], "inv")
    assert not ids.is_valid(good[:-1] + "U", "inv")  # U is not Crockford base32
    assert not ids.is_valid(good.lower(), "inv")
    assert not ids.is_valid("", "inv")
    assert not ids.is_valid("inv_", "inv")
    assert not ids.is_valid("inv_' OR 1=1 --", "inv")


def test_a_forked_child_draws_fresh_randomness():
    """The random pool is not inherited: parent and child mint different random parts."""
    ids.new_id("job")  # the parent's pool now holds bytes a child could otherwise replay
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id's random part, then leave at once
        os.write(write, str(_random_part(ids.new_id("job"))).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = int(os.read(read, 64))
    os.close(read)
    assert child != _random_part(ids.new_id("job"))
    assert max(ids._randbits(79) for _ in range(2000)).bit_length() == 79  # all 79 bits used
