"""``sync_token``: incremental sync of a list that never misses a committed change.

``updated_at`` is stamped before commit, so "changed since the newest time I saw" skips
a row whose transaction committed after a later-stamped one. Instead every synced row
carries ``change_seq``, written by a database trigger (``models._base.ChangeStamped``),
and a sync reads the rows with ``change_seq >= start``. The token handed back holds a
watermark taken *before* that read: on PostgreSQL the xmin of the current snapshot
(every transaction below it had finished, so its rows were visible to the read; rows of
transactions still running are stamped at or above it and come back next time); on
SQLite, one writer at a time, the ``sync_clock`` counter plus one. A row may come back
twice, never not at all.

A token is opaque to clients: base64url of ``1|scope|start|upto|after``. ``upto`` and
``after`` are set only inside a walk of several pages (the watermark the walk ends on,
and the last id returned); the last page hands back ``start=upto``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from payymo import ids
from payymo.errors import InvalidRequest

START = "0"  # the documented first token: everything, oldest first
_VERSION = "1"
_NUMBER = re.compile(r"0|[1-9][0-9]{0,18}")
_MAX = 2**63 - 1
_PG_WATERMARK = text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint "
    "FROM pg_current_snapshot() AS s"
)
_SQLITE_CLOCK = text("SELECT value FROM sync_clock WHERE id = 1")


@dataclass(frozen=True)
class SyncToken:
    """Where a sync stands: rows changed at or after ``start``, after id ``after``."""

    scope: str
    start: int
    upto: int | None = None
    after: str | None = None


def encode(token: SyncToken) -> str:
    """The opaque string a client sends back as ``sync_token``."""
    parts = (
        _VERSION,
        token.scope,
        str(token.start),
        "" if token.upto is None else str(token.upto),
        token.after or "",
    )
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def watermark(session: Session) -> tuple[int, int]:
    """``(low, high)``: every change below ``low`` has finished; none reaches ``high`` yet."""
    if session.get_bind().dialect.name == "postgresql":
        low, high = session.execute(_PG_WATERMARK).one()
        return low, high
    clock = session.scalar(_SQLITE_CLOCK)
    return clock + 1, clock + 1


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="sync_token", code="invalid_sync_token")


def _split(raw: str) -> list[str]:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        plain = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid("Invalid sync_token: not a token this API issued.") from None
    return plain.split("|")


def decode(raw: str, *, scope: str, high: int) -> SyncToken:
    """Parse a client's ``sync_token`` for the list ``scope``; ``InvalidRequest`` if bad."""
    if raw == START:
        return SyncToken(scope=scope, start=0)
    parts = _split(raw)
    if len(parts) != 5 or parts[0] != _VERSION:
        raise _invalid("Invalid sync_token: not a token this API issued.")
    _version, token_scope, start, upto, after = parts
    prefix = scope.split(":", 1)[0]
    numbers_ok = _NUMBER.fullmatch(start) and (upto == "" or _NUMBER.fullmatch(upto))
    walk_ok = (upto == "") == (after == "") and (after == "" or ids.is_valid(after, prefix))
    if not numbers_ok or not walk_ok:
        raise _invalid("Invalid sync_token: not a token this API issued.")
    if token_scope != scope:
        raise _invalid(
            "This sync_token belongs to another list or filter; "
            f"start a new sync with sync_token={START}."
        )
    token = SyncToken(
        scope=scope,
        start=int(start),
        upto=int(upto) if upto else None,
        after=after or None,
    )
    if max(token.start, token.upto or 0) > min(high, _MAX):
        # Issued by another database (a restore into a new cluster restarts the count):
        # answering "nothing changed" would silently skip every change since.
        raise _invalid(
            f"This sync_token is ahead of the database; start a new sync with sync_token={START}."
        )
    return token
