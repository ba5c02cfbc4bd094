"""Amounts: allocation over invoices and the bounded subset-sum search."""

from __future__ import annotations

from payymo.matching.amounts import MAX_SUBSET_POOL, MAX_SUBSET_SIZE, allocate, subset_sums


def test_allocate_caps_each_invoice_at_its_open_amount_oldest_first():
    assert allocate(150, [(1, 100), (2, 100)]) == ((1, 100), (2, 50))
    assert allocate(300, [(1, 100), (2, 100)]) == ((1, 100), (2, 100))  # rest unallocated
    assert allocate(50, [(1, 100), (2, 100)]) == ((1, 50),)


def test_subset_sums_find_exact_combinations_preferring_older_invoices():
    opens = [(1, 100), (2, 250), (3, 150), (4, 100)]
    found = subset_sums(250, opens)
    assert found[0] == (1, 3)  # oldest pair first, before (3, 4) and the 3-way ones
    assert all(sum(dict(opens)[i] for i in combo) == 250 for combo in found)
    assert (2,) not in found  # single invoices are not combinations


def test_subset_sums_are_exact_unless_a_tolerance_is_given():
    opens = [(1, 100), (2, 120)]
    assert subset_sums(221, opens) == []
    assert subset_sums(221, opens, tolerance=1) == [(1, 2)]


def test_subset_search_is_bounded_in_pool_and_combination_size():
    pool = [(i, 1) for i in range(20)]
    # 5 invoices of 1 never combine: at most 4 per combination
    assert subset_sums(5, pool) == []
    assert MAX_SUBSET_SIZE == 4
    # only the oldest 12 are looked at: an amount only a 13th invoice completes is missed
    opens = [(i, 1000 + i) for i in range(MAX_SUBSET_POOL)] + [(99, 7)]
    assert subset_sums(1000 + 7, opens) == []
    assert subset_sums(1000 + 1001, opens) == [(0, 1)]


def test_subset_search_stops_after_a_few_combinations():
    pool = [(i, 10) for i in range(12)]
    assert len(subset_sums(20, pool)) == 3
