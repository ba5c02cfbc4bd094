"""API keys: create (secret shown once), list, revoke, roll."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import auth
from payymo.db import utcnow
from payymo.errors import Conflict, InvalidRequest
from payymo.models import ApiKey
from payymo.pagination import Page, paginate

MAX_ROLL_GRACE = dt.timedelta(days=7)


def create_key(
    *,
    session: Session,
    name: str | None = None,
    scopes: list[str] | None = None,
    mode: str = "live",
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the tenant in scope; returns it and its secret (shown once)."""
    scopes = list(dict.fromkeys(scopes or ["admin"]))
    bad = [s for s in scopes if s not in auth.SCOPES]
    if bad:
        raise InvalidRequest(f"Unknown scope '{bad[0]}'.", param="scopes", code="invalid_scope")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequest("expires_at must be in the future.", param="expires_at")
    new = auth.generate_key(mode)
    key = ApiKey(
        name=name,
        mode=mode,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=scopes,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, new.secret


def list_keys(*, session: Session, page: dict) -> Page:
    """The tenant's keys, newest first (prefixes only)."""
    return paginate(session, select(ApiKey), ApiKey, prefix="key", **page)


def revoke_key(*, session: Session, key: ApiKey) -> ApiKey:
    """Revoke a key now; idempotent."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def roll_key(*, session: Session, key: ApiKey, grace: dt.timedelta) -> tuple[ApiKey, str]:
    """Issue a replacement key; the old one keeps working for ``grace`` (≤ 7 days)."""
    now = utcnow()
    if key.revoked_at is not None:
        raise Conflict("A revoked key cannot be rolled.", code="api_key_revoked")
    if key.rolled_to_id is not None:
        # A second replacement would orphan the first one's holder; roll the new key.
        raise Conflict(
            f"This key was already rolled to {key.rolled_to_id}; roll that key instead.",
            code="api_key_rolled",
        )
    if key.expires_at is not None and key.expires_at <= now:
        # Rolling would bring a dead key's access back to life.
        raise Conflict("An expired key cannot be rolled.", code="api_key_expired")
    if grace < dt.timedelta(0) or grace > MAX_ROLL_GRACE:
        raise InvalidRequest("The old key may live at most 7 days.", param="expires_in_hours")
    new_key, secret = create_key(
        session=session, name=key.name, scopes=list(key.scopes), mode=key.mode
    )
    old_expiry = now + grace
    if key.expires_at is None or key.expires_at > old_expiry:
        key.expires_at = old_expiry
    if grace == dt.timedelta(0):
        key.revoked_at = now
    key.rolled_to_id = new_key.id
    session.flush()
    return new_key, secret
