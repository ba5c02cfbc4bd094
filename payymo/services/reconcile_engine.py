"""The engine beside the writer: its decisions streamed to the run as they are made.

A run spends about as long waiting on the database (locks, UPDATEs, COPYs) as the
engine spends computing, so the engine never runs on the writer's thread:

- a small run, or a single-currency one, gets one engine thread: the engine is pure
  Python over plain data and the writer's database waits release the GIL for it;
- a large run over several currencies is split by currency (``matching.partition``,
  which decides exactly what one engine would) across forked processes, so the engines
  use every core; each streams its decisions back through a queue whose feeder thread
  buffers, so an engine never waits for the writer.

Decisions travel in batches, so the two sides hand over rarely.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from payymo.matching.engine import iter_decisions
from payymo.matching.partition import Part, by_currency
from payymo.matching.types import Decision
from payymo.services.reconcile_load import RunInput

BATCH = 256
PARALLEL_MIN = 20_000  # below this, forking costs more than it saves
_POLL_SECONDS = 1.0

Stream = Iterator[tuple[int, Decision]]


class EngineFailed(RuntimeError):
    """An engine process failed or died; the run stops and writes nothing more."""


class _Failed:
    """An engine's exception, carried to the consuming side (as text across processes)."""

    def __init__(self, exc: BaseException, text: str):
        self.exc = exc
        self.text = text

    def __reduce__(self):
        return (_Failed, (EngineFailed(self.text), self.text))


def _decisions(data: RunInput, part: Part | None):
    """(position in the run, decision) for ``part``'s transactions, or for all of them."""
    transactions = part.transactions if part else data.transactions
    invoices = part.invoices if part else data.invoices
    stream = iter_decisions(
        transactions, invoices, settings=data.settings, memory=data.memory, blocked=data.blocked
    )
    if part is None:
        return stream
    return ((part.positions[j], decision) for j, decision in stream)


def _produce(data: RunInput, part: Part | None, out, keep_going, batch: int) -> None:
    """Put batches of decisions on ``out``, then None; a failure instead of raising."""
    try:
        pending: list[tuple[int, Decision]] = []
        for item in _decisions(data, part):
            pending.append(item)
            if len(pending) >= batch:
                if not keep_going():
                    return
                out.put(pending)
                pending = []
        out.put(pending)
        out.put(None)
    except BaseException as exc:  # re-raised on the consuming side
        out.put(_Failed(exc, "".join(traceback.format_exception(exc))))


def _consume(out, producers: int, alive) -> Stream:
    done = 0
    while done < producers:
        try:
            item = out.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            alive()
            continue
        if item is None:
            done += 1
        elif isinstance(item, _Failed):
            raise item.exc
        else:
            yield from item


@contextmanager
def _in_thread(data: RunInput, batch: int) -> Iterator[Stream]:
    out: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce,
        args=(data, None, out, lambda: not stop.is_set(), batch),
        name="reconcile-engine",
        daemon=True,
    )
    thread.start()
    try:
        yield _consume(out, 1, lambda: None)
    finally:
        stop.set()
        thread.join()


def _engine_process(data: RunInput, part: Part, out, parent: int, batch: int) -> None:
    # An engine whose run was killed (the worker's horse got SIGKILL) stops by itself.
    _produce(data, part, out, lambda: os.getppid() == parent, batch)


@contextmanager
def _in_processes(data: RunInput, parts: list[Part], batch: int) -> Iterator[Stream]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_engine_process,
            args=(data, part, out, os.getpid(), batch),
            name=f"reconcile-engine-{','.join(sorted(part.currencies))}",
            daemon=True,
        )
        for part in parts
    ]

    def alive() -> None:
        dead = [p for p in procs if p.exitcode not in (None, 0)]
        if dead:
            raise EngineFailed(f"engine process {dead[0].name} died (exit {dead[0].exitcode})")

    for proc in procs:
        proc.start()
    try:
        yield _consume(out, len(procs), alive)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        out.close()


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def engine_stream(
    data: RunInput,
    *,
    processes: int = 1,
    parallel_min: int = PARALLEL_MIN,
    batch: int = BATCH,
) -> Iterator[Stream]:
    """The engine's (position, decision) stream over ``data``, made beside the caller.

    Up to ``processes`` engine processes when the run has at least ``parallel_min``
    transactions in several currencies, else one engine thread. Within one currency
    the stream is in processing order; across currencies it interleaves. Leaving the
    block, normally or by an exception, stops the engine.
    """
    parts: list[Part] = []
    if processes > 1 and len(data.transactions) >= parallel_min and _can_fork():
        parts = by_currency(data.transactions, data.invoices, processes)
    runner = _in_processes(data, parts, batch) if len(parts) > 1 else _in_thread(data, batch)
    with runner as stream:
        yield stream
