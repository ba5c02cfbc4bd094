"""Reading the event log: list (newest first, by type or type prefix) and retrieve."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import Event
from payymo.pagination import Page, paginate
from payymo.tenancy import get_or_404

WILDCARD = ".*"


def type_clause(pattern: str):
    """``invoice.created`` matches exactly; ``invoice.*`` matches every ``invoice.`` type."""
    if pattern.endswith(WILDCARD):
        return Event.type.startswith(pattern[: -len("*")], autoescape=True)
    return Event.type == pattern


def list_events(*, session: Session, filters: dict, page: dict) -> Page:
    """The tenant's events, newest first, optionally filtered by ``type``."""
    stmt = select(Event)
    if filters.get("type"):
        stmt = stmt.where(type_clause(filters["type"]))
    return paginate(session, stmt, Event, prefix="evt", sync_scope=filters.get("type"), **page)


def get_event(*, session: Session, event_id: str) -> Event:
    """One of the tenant's events, or ``NotFound``."""
    return get_or_404(session, Event, event_id)
