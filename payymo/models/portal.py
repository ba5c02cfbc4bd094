"""Portal sign-in links: one-time, short-lived, for one person of one partner's tenant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, UTCDateTime

from ._base import created_at_column, id_column


class PortalLink(Base):
    """A sign-in link: only its token's hash is kept; opened once, before it expires."""

    __tablename__ = "portal_links"

    id: Mapped[str] = id_column("plk")
    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    return_url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
