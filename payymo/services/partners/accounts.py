"""Partners and their API keys (the tenant keys' format and hashing; partner scopes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo import auth
from payymo.errors import InvalidRequest
from payymo.models import Partner, PartnerKey


def create_partner(*, session: Session, name: str) -> tuple[Partner, str]:
    """A new active partner and its first key (read and write); the secret is shown once."""
    name = name.strip()
    if not name:
        raise InvalidRequest("A partner needs a name.", param="name")
    partner = Partner(name=name, status="active", branding={})
    session.add(partner)
    session.flush()
    _key, secret = issue_key(session=session, partner=partner, name="first key")
    return partner, secret


def issue_key(
    *,
    session: Session,
    partner: Partner,
    name: str | None = None,
    scopes: list[str] | None = None,
) -> tuple[PartnerKey, str]:
    """A new key for ``partner``; answers it and its secret (shown once, stored hashed)."""
    scopes = list(dict.fromkeys(scopes or list(auth.PARTNER_SCOPES)))
    bad = [s for s in scopes if s not in auth.PARTNER_SCOPES]
    if bad:
        raise InvalidRequest(f"Unknown scope '{bad[0]}'.", param="scopes", code="invalid_scope")
    new = auth.generate_key("live")
    key = PartnerKey(
        partner_id=partner.id,
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=scopes,
    )
    session.add(key)
    session.flush()
    return key, new.secret
