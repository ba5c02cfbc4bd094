"""One-time portal sign-in links a partner makes for a person of one of its tenants."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.errors import Conflict, PayymoError
from payymo.models import PortalLink
from payymo.tenancy.partners import owned_tenant

DEFAULT_LIFETIME = dt.timedelta(minutes=15)
MAX_LIFETIME = dt.timedelta(hours=24)
# How long the browser session a link opens lasts.
SESSION_LIFETIME = dt.timedelta(hours=8)


class LinkRefused(PayymoError):
    """A sign-in link that is unknown, used already or expired (one answer for all three)."""

    status, type, code = 400, "invalid_request_error", "portal_link_invalid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    *,
    session: Session,
    partner_id: str,
    tenant_id: str,
    return_url: str | None = None,
    expires_in: int | None = None,
) -> tuple[PortalLink, str]:
    """A sign-in link for the partner's tenant; answers it and its token (shown once)."""
    tenant = owned_tenant(session, partner_id, tenant_id)
    if tenant.status != "active":
        raise Conflict(f"The tenant is {tenant.status}.", code="tenant_not_active")
    lifetime = DEFAULT_LIFETIME if expires_in is None else dt.timedelta(seconds=expires_in)
    token = secrets.token_urlsafe(32)
    link = PortalLink(
        partner_id=partner_id,
        tenant_id=tenant.id,
        token_hash=_digest(token),
        return_url=return_url,
        expires_at=utcnow() + min(lifetime, MAX_LIFETIME),
    )
    session.add(link)
    session.flush()
    return link, token


def redeem(*, session: Session, token: str, now: dt.datetime | None = None) -> PortalLink:
    """Use a link once: the row is locked, re-checked and marked used, or ``LinkRefused``."""
    now = now or utcnow()
    link = session.scalars(
        select(PortalLink)
        .where(PortalLink.token_hash == _digest(token or ""))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkRefused("This sign-in link is unknown, was used already, or has expired.")
    link.used_at = now
    session.flush()
    return link
