"""CounterpartyName: a payer's name as the tenant's lines carry it, for searches to start from."""

from __future__ import annotations

from sqlalchemy import PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base
from payymo.tenancy import TenantScoped


class CounterpartyName(TenantScoped, Base):
    """One distinct ``transactions.counterparty_name`` of a tenant.

    On PostgreSQL a trigger adds every new name in the transaction that writes its line
    (``services.search_names``), and a search for a payer finds the names first, then
    reads the lines of those names newest first. Names are never removed: a name no line
    carries any more finds no lines. SQLite searches with a plain LIKE and keeps none.
    """

    __tablename__ = "counterparty_names"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
