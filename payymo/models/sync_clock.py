"""SyncClock: the embedded default's change counter behind ``sync_token``."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base


class SyncClock(Base):
    """One row on SQLite, bumped by the change triggers; unused on PostgreSQL (xids)."""

    __tablename__ = "sync_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
