"""The mixin every tenant-owned model wears."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class TenantScoped:
    """Mixin for every tenant-owned model: adds ``tenant_id``.

    Each model declares ``UniqueConstraint("tenant_id", "id")`` (lists filter by tenant
    and order by id through it) and points at other tenant-owned rows with composite
    foreign keys ``(tenant_id, x_id)``, so no row can reference another tenant's row.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(
            String(40), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        )
