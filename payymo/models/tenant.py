"""Tenant: a business (or a billing system acting for one) using Payymo."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType

from ._base import created_at_column, id_column, updated_at_column

DEFAULT_SETTINGS = {
    "auto_match_enabled": True,
    "auto_match_threshold": 0.9,
    "date_window_days": 60,
    "overpayment_tolerance": 0,
    "charge_tolerance": 0,
    "reference_pattern": None,
}


class Tenant(Base):
    """A tenant; every tenant-owned row points here."""

    __tablename__ = "tenants"

    id: Mapped[str] = id_column("ten")
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    plan: Mapped[str] = mapped_column(String(40), default="standard")
    default_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    settings: Mapped[dict] = mapped_column(JSONType, default=lambda: dict(DEFAULT_SETTINGS))
    # The white-label partner that provisioned and runs it (None: a direct customer).
    partner_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("partners.id"), index=True
    )
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    @property
    def effective_settings(self) -> dict:
        """Stored settings over the defaults."""
        return {**DEFAULT_SETTINGS, **(self.settings or {})}
