"""Bank connection events, written in the transaction of the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo import events
from payymo.models import BankConnection
from payymo.representations.bank_connections import connection_document


def emit_connection(
    session: Session, conn: BankConnection, event_type: str, previous: dict | None = None
) -> None:
    """Emit ``event_type`` for ``conn``, with what changed when it is an update."""
    session.flush()
    data = {"object": connection_document(conn)}
    if previous is not None:
        data["previous_attributes"] = previous
    events.emit(session, event_type, data)
