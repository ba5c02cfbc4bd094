"""Column helpers shared by the models."""

from __future__ import annotations

import datetime as dt
from functools import partial

from sqlalchemy import BigInteger, ForeignKeyConstraint, String, text
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, unmapped_column

from payymo.db import UTCDateTime, utcnow
from payymo.ids import new_id


def id_column(prefix: str) -> Mapped[str]:
    """A prefixed, time-ordered primary key."""
    return mapped_column(String(40), primary_key=True, default=partial(new_id, prefix))


def created_at_column() -> Mapped[dt.datetime]:
    """Creation time, UTC."""
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def tenant_fk(columns: str, target: str, **kwargs) -> ForeignKeyConstraint:
    """A composite foreign key ``(tenant_id, column)`` → ``target(tenant_id, id)``.

    The database refuses a row that points at another tenant's row.
    """
    return ForeignKeyConstraint(
        ["tenant_id", columns], [f"{target}.tenant_id", f"{target}.id"], **kwargs
    )


def updated_at_column() -> Mapped[dt.datetime]:
    """Last change time, UTC."""
    return mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class ChangeStamped:
    """Rows the database stamps with the position of their last change (``sync_token``).

    Every INSERT or UPDATE stamps ``change_seq``, whatever the path (ORM, Core, COPY):
    the writing transaction's id on PostgreSQL (an insert takes it as the column's
    default, and a trigger covers updates and an insert bringing another value:
    migration 0029), the ``sync_clock`` counter on SQLite (migration 0007). The ORM never
    maps it, so no object holds a stale copy.
    """

    change_seq: Unmapped[int] = unmapped_column(
        BigInteger, nullable=False, server_default=text("0")
    )
