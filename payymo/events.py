"""The outbox: events are written in the same transaction as the change they describe.

After a transaction that wrote events commits, this process's commit listeners are
called (an in-process webhook dispatcher wakes up instead of waiting for its next poll).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from payymo.models import Event
from payymo.observability import request_id_var

log = logging.getLogger(__name__)

_EMITTED = "payymo_events_emitted"
_listeners: list[Callable[[], None]] = []


def emit(session: Session, event_type: str, data: dict) -> Event:
    """Add an ``Event`` to ``session``; it commits (or not) with the change it describes."""
    event = Event(type=event_type, data=data, request_id=request_id_var.get())
    session.add(event)
    mark_emitted(session)
    return event


def mark_emitted(session: Session) -> None:
    """Note that ``session`` wrote events (bulk paths that insert them without ``emit``)."""
    session.info[_EMITTED] = True


def add_commit_listener(callback: Callable[[], None]) -> None:
    """Call ``callback`` after every commit that wrote events, in this process."""
    _listeners.append(callback)


def remove_commit_listener(callback: Callable[[], None]) -> None:
    """Stop calling ``callback``."""
    if callback in _listeners:
        _listeners.remove(callback)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_EMITTED, False):
        return
    for callback in list(_listeners):
        try:
            callback()
        except Exception:  # a listener never fails the commit
            log.exception("event commit listener failed")


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    if not session.in_transaction():
        session.info.pop(_EMITTED, None)
