"""The outbox: events are written in the same transaction as the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.models import Event
from payymo.observability import request_id_var


def emit(session: Session, event_type: str, data: dict) -> Event:
    """Add an ``Event`` to ``session``; it commits (or not) with the change it describes."""
    event = Event(type=event_type, data=data, request_id=request_id_var.get())
    session.add(event)
    return event
