"""The engine beside the writer: its decisions streamed to the run as they are made.

A run spends about as long waiting on the database (locks, UPDATEs, COPYs) as the
engine spends computing, so the engine never runs on the writer's thread:

- a small run gets one engine thread: the engine is pure Python over plain data and
  the writer's database waits release the GIL for it;
- a large run gets engine processes, so the engines and the writer use every core: one
  per currency group (``matching.partition``, which decides exactly what one engine
  would), and one for a single currency (its writer's Python, event documents and row
  building, then runs beside the engine instead of sharing the GIL: 68 s → 59 s at a
  million lines, measured).

Engine processes are spawned, not forked: a forked child would inherit the worker's
database sockets and keep its session (row locks, the run lock) alive on the server
after the worker died. Each engine holds only the write end of its own pipe; a reader
thread here drains the pipes, so an engine never waits for the writer, and when the
run is gone the engine's next send fails and it exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING

from payymo.config import DEFAULT_RECONCILE_PARALLEL_MIN
from payymo.matching.engine import iter_decisions, processing_order
from payymo.matching.partition import Part, by_currency
from payymo.matching.types import Decision, Horizon, MatchSettings, PayerMemory

if TYPE_CHECKING:
    from payymo.services.reconciliation.load import RunInput

log = logging.getLogger(__name__)

BATCH = 256

# (position in the run, decision) pairs; after the last of a part's, the Part itself.
Stream = Iterator[tuple[int, Decision] | Part]


class EngineFailed(RuntimeError):
    """An engine process failed or died; the run stops and writes nothing more."""


class _Failed:
    """An engine's exception, handed to the consuming side."""

    def __init__(self, exc: BaseException):
        self.exc = exc


_EOF = object()  # an engine process's pipe closed (made here, never pickled)


def _batches(
    part: Part,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked,
    horizon: Horizon,
    size: int,
) -> Iterator[list[tuple[int, Decision]]]:
    """The part's (position in the run, decision) pairs, ``size`` at a time."""
    pending: list[tuple[int, Decision]] = []
    stream = iter_decisions(
        part.transactions,
        part.invoices,
        settings=settings,
        memory=memory,
        blocked=blocked,
        horizon=horizon,
    )
    for j, decision in stream:
        pending.append((part.positions[j], decision))
        if len(pending) >= size:
            yield pending
            pending = []
    yield pending


def _consume(out: queue.SimpleQueue, parts: list[Part]) -> Stream:
    """Decisions from the engines' (engine, item) messages until each is done."""
    done: set[int] = set()
    while len(done) < len(parts):
        engine, item = out.get()
        if item is None:
            done.add(engine)
            yield parts[engine]
        elif isinstance(item, _Failed):
            raise item.exc
        elif item is _EOF:
            if engine not in done:
                raise EngineFailed("an engine process ended before it finished")
        else:
            yield from item


def _whole(data: RunInput) -> Part:
    positions = tuple(range(len(data.transactions)))
    currencies = frozenset(t.currency for t in data.transactions)
    return Part(currencies, positions, tuple(data.transactions), tuple(data.invoices))


def _engine_thread(part: Part, data: RunInput, out: queue.SimpleQueue, stop, size: int):
    try:
        for batch in _batches(part, data.settings, data.memory, data.blocked, data.horizon, size):
            if stop.is_set():
                return
            out.put((0, batch))
        out.put((0, None))
    except BaseException as exc:  # re-raised on the consuming thread
        out.put((0, _Failed(exc)))


@contextmanager
def _in_thread(data: RunInput, size: int) -> Iterator[Stream]:
    out: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    whole = _whole(data)
    thread = threading.Thread(
        target=_engine_thread,
        args=(whole, data, out, stop, size),
        name="reconcile-engine",
        daemon=True,
    )
    thread.start()
    try:
        yield _consume(out, [whole])
    finally:
        stop.set()
        thread.join()


def _engine_process(
    part: Part,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked: frozenset,
    horizon: Horizon,
    conn: Connection,
    size: int,
) -> None:
    """An engine process: send its part's decisions in batches, then None."""
    try:
        try:
            for batch in _batches(part, settings, memory, blocked, horizon, size):
                conn.send(batch)
            conn.send(None)
        except OSError:
            raise
        except BaseException as exc:
            text = "".join(traceback.format_exception(exc))
            conn.send(_Failed(EngineFailed(f"engine process failed:\n{text}")))
    except OSError:
        pass  # the run that wanted these decisions is gone
    finally:
        conn.close()


def _pump(conns: Iterable[Connection], out: queue.SimpleQueue) -> None:
    """Move what each engine sends into ``out`` as (engine, item); ``_EOF`` when it ends."""
    live = dict(enumerate(conns))
    index = {id(conn): engine for engine, conn in live.items()}
    try:
        while live:
            for conn in wait(list(live.values())):
                engine = index[id(conn)]
                try:
                    out.put((engine, conn.recv()))
                except (EOFError, OSError):
                    del live[engine]
                    out.put((engine, _EOF))
    except BaseException as exc:  # say so, or the run would wait for ever
        out.put((-1, _Failed(EngineFailed(f"reading an engine's decisions failed: {exc!r}"))))


@contextmanager
def _in_processes(data: RunInput, parts: list[Part], size: int) -> Iterator[Stream]:
    ctx = multiprocessing.get_context("spawn")
    out: queue.SimpleQueue = queue.SimpleQueue()
    procs, conns, pump = [], [], None
    try:
        for part in parts:
            reader, writer = ctx.Pipe(duplex=False)
            conns.append(reader)
            proc = ctx.Process(
                target=_engine_process,
                args=(part, data.settings, data.memory, data.blocked, data.horizon, writer, size),
                name=f"reconcile-engine-{','.join(sorted(part.currencies))}",
                daemon=True,
            )
            proc.start()
            procs.append(proc)
            writer.close()  # the engine holds the only write end: its exit is our EOF
        log.info(
            "reconcile engine processes started",
            extra={"engines": [",".join(sorted(p.currencies)) for p in parts]},
        )
        pump = threading.Thread(
            target=_pump, args=(conns, out), name="reconcile-engine-pipes", daemon=True
        )
        pump.start()
        yield _consume(out, parts)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        if pump is not None:
            pump.join()  # every pipe has reached its end now
        for conn in conns:
            conn.close()


@contextmanager
def engine_stream(
    data: RunInput,
    *,
    processes: int = 1,
    parallel_min: int = DEFAULT_RECONCILE_PARALLEL_MIN,
    batch: int = BATCH,
) -> Iterator[Stream]:
    """The engine's (position, decision) stream over ``data``, made beside the caller.

    Up to ``processes`` engine processes (one per currency group, at least one) when
    the run has at least ``parallel_min`` transactions, else one engine thread. Within
    one currency the stream is in processing order; across currencies it interleaves.
    Each part's ``Part`` follows its last decision: the part is decided. Leaving the
    block, normally or by an exception, stops the engines.
    """
    if data.decided is not None:
        # An incremental run's input was decided while it was assembled: replay that.
        whole = _whole(data)
        order = processing_order(data.transactions)
        yield iter([*((i, data.decided[i]) for i in order), whole])
        return
    parts: list[Part] = []
    if processes > 1 and len(data.transactions) >= parallel_min:
        parts = by_currency(data.transactions, data.invoices, processes)
    runner = _in_processes(data, parts, batch) if parts else _in_thread(data, batch)
    with runner as stream:
        yield stream
