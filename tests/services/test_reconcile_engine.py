"""The engine beside the writer: one thread, or spawned processes per currency group."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from dataclasses import replace

import pytest

from benchmarks.matching_data import generate
from payymo.matching.engine import reconcile
from payymo.matching.partition import Part
from payymo.services.reconciliation.engine import EngineFailed, engine_stream
from payymo.services.reconciliation.load import RunInput


def _run_input(seed: int, n_txn: int, n_inv: int) -> RunInput:
    data = generate(seed, n_txn, n_inv)
    return RunInput(
        transactions=list(data.transactions),
        invoices=list(data.invoices),
        settings=data.settings,
        memory=data.memory,
        blocked=frozenset(),
        with_suggestions=frozenset(),
    )


def _decisions(stream):
    """The stream's (position, decision) pairs, without the parts' end markers."""
    return (item for item in stream if not isinstance(item, Part))


def _engines() -> tuple[list[str], list[multiprocessing.Process]]:
    threads = [t.name for t in threading.enumerate() if t.name == "reconcile-engine"]
    procs = [p for p in multiprocessing.active_children() if p.name.startswith("reconcile-")]
    return threads, procs


@pytest.fixture(scope="module")
def data() -> RunInput:
    return _run_input(4, 1500, 5000)


@pytest.fixture(scope="module")
def expected(data) -> list:
    return reconcile(data.transactions, data.invoices, settings=data.settings, memory=data.memory)


def _started(caplog) -> list[list[str]]:
    return [r.engines for r in caplog.records if r.getMessage().startswith("reconcile engine")]


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_the_stream_carries_every_decision_the_engine_makes(data, expected, processes, caplog):
    caplog.set_level("INFO", logger="payymo.services.reconciliation.engine")
    got, parts = [None] * len(data.transactions), []
    with engine_stream(data, processes=processes, parallel_min=0, batch=64) as stream:
        for item in stream:
            if isinstance(item, Part):  # a part ends after all its decisions
                assert all(got[p] is not None for p in item.positions)
                parts.append(item)
                continue
            position, decision = item
            assert got[position] is None  # each transaction exactly once
            got[position] = decision
    assert got == expected
    assert len(parts) == processes
    assert sorted(p for part in parts for p in part.positions) == list(range(len(got)))
    assert _engines() == ([], [])
    if processes == 1:
        assert _started(caplog) == []
    else:  # one process per currency group, the largest (EUR) alone first
        [engines] = _started(caplog)
        assert len(engines) == processes and engines[0] == "EUR"
        assert set(",".join(engines).split(",")) == {t.currency for t in data.transactions}


def test_within_a_currency_decisions_arrive_oldest_booking_first(data):
    last: dict[str, tuple] = {}
    with engine_stream(data, processes=2, parallel_min=0) as stream:
        for position, _ in _decisions(stream):
            txn = data.transactions[position]
            key = (txn.booking_date, txn.id)
            assert key > last.get(txn.currency, (txn.booking_date.min, ""))
            last[txn.currency] = key
    assert len(last) > 2


def test_small_runs_stay_on_one_thread(data, caplog):
    caplog.set_level("INFO", logger="payymo.services.reconciliation.engine")
    with engine_stream(data, processes=4, parallel_min=len(data.transactions) + 1) as stream:
        assert _engines() == (["reconcile-engine"], [])
        next(stream)
    assert _started(caplog) == []


@pytest.mark.parametrize("processes", [1, 2])
def test_leaving_early_stops_the_engines(data, processes):
    with engine_stream(data, processes=processes, parallel_min=0, batch=8) as stream:
        next(stream)
    assert _engines() == ([], [])


def test_an_engine_error_reaches_the_run(data):
    broken = replace(
        data, transactions=[*data.transactions[:50], replace(data.transactions[50], amount=None)]
    )
    with pytest.raises(TypeError), engine_stream(broken, processes=1) as stream:
        list(stream)
    assert _engines() == ([], [])


def test_an_engine_process_error_reaches_the_run_with_its_traceback(data):
    bad = replace(data.transactions[50], amount=None)
    broken = replace(data, transactions=[*data.transactions[:50], bad, *data.transactions[51:]])
    with (
        pytest.raises(EngineFailed, match="TypeError"),
        engine_stream(broken, processes=2, parallel_min=0) as stream,
    ):
        list(stream)
    assert _engines() == ([], [])


def test_a_killed_engine_process_fails_the_run_instead_of_hanging():
    big = _run_input(6, 6000, 6000)
    with (
        pytest.raises(EngineFailed, match="ended before it finished"),
        engine_stream(big, processes=2, parallel_min=0) as stream,
    ):
        victim = _engines()[1][0]
        os.kill(victim.pid, signal.SIGKILL)
        list(stream)
    assert _engines() == ([], [])


def test_a_large_single_currency_run_gets_one_engine_process(data, caplog):
    """The writer's Python then runs beside the engine instead of sharing the GIL."""
    caplog.set_level("INFO", logger="payymo.services.reconciliation.engine")
    single = replace(
        data,
        transactions=[t for t in data.transactions if t.currency == "EUR"],
        invoices=[i for i in data.invoices if i.currency == "EUR"],
    )
    want = reconcile(
        single.transactions, single.invoices, settings=single.settings, memory=single.memory
    )
    got = [None] * len(single.transactions)
    with engine_stream(single, processes=2, parallel_min=0) as stream:
        threads, procs = _engines()
        assert threads == [] and len(procs) == 1
        for position, decision in _decisions(stream):
            got[position] = decision
    assert got == want
    assert _started(caplog) == [["EUR"]]
    assert _engines() == ([], [])
