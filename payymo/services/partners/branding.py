"""A partner's branding: the name, logo, colour and contacts its portal shows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.models import Partner

FIELDS = ("name", "logo_url", "primary_color", "support_email", "custom_domain")


def get_branding(*, session: Session, partner_id: str) -> dict:
    """The partner's branding, every field present (null when not set)."""
    partner = session.get_one(Partner, partner_id)
    stored = partner.branding or {}
    shown = {name: stored.get(name) for name in FIELDS}
    shown["name"] = shown["name"] or partner.name
    return shown


def set_branding(*, session: Session, partner_id: str, branding: dict) -> dict:
    """Replace the partner's branding with ``branding`` (validated by the caller's schema)."""
    partner = session.get_one(Partner, partner_id)
    wanted = {name: branding.get(name) for name in FIELDS}
    if wanted != (partner.branding or {}):
        partner.branding = wanted  # a new dict: the JSON column sees the change
        partner.updated_at = utcnow()
        session.flush()
    return get_branding(session=session, partner_id=partner_id)
