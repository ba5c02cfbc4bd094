"""API keys: create (secret shown once), list, revoke, roll."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from payymo import auth, runtime
from payymo.db import utcnow
from payymo.errors import Conflict, InvalidRequest
from payymo.models import ApiKey, Tenant
from payymo.pagination import Page, paginate
from payymo.tenancy import current_tenant_id

MAX_ROLL_GRACE = dt.timedelta(days=7)


def create_key(
    *,
    session: Session,
    name: str | None = None,
    scopes: list[str] | None = None,
    mode: str = "live",
    expires_at: dt.datetime | None = None,
    capped: bool = True,
) -> tuple[ApiKey, str]:
    """A new key for the tenant in scope; returns it and its secret (shown once).

    ``capped=False`` skips the active-key cap (only the development demo uses it).
    """
    scopes = list(dict.fromkeys(scopes or ["admin"]))
    bad = [s for s in scopes if s not in auth.SCOPES]
    if bad:
        raise InvalidRequest(f"Unknown scope '{bad[0]}'.", param="scopes", code="invalid_scope")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequest("expires_at must be in the future.", param="expires_at")
    if capped:
        _check_cap(session=session)
    return _issue(session=session, name=name, scopes=scopes, mode=mode, expires_at=expires_at)


def _issue(
    *, session: Session, name: str | None, scopes: list[str], mode: str, expires_at
) -> tuple[ApiKey, str]:
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


def _check_cap(*, session: Session, revoking: ApiKey | None = None) -> None:
    """Refuse one more active key past the cap (``revoking`` is about to stop counting)."""
    cap = runtime.settings().max_api_keys_per_tenant
    # Two creates serialise on the tenant row, so neither counts before the other commits.
    # NO KEY UPDATE: the KEY SHARE lock any insert of a tenant-owned row takes (e.g. the
    # idempotency record) does not conflict with it, so two requests cannot deadlock.
    session.execute(
        select(Tenant.id).where(Tenant.id == current_tenant_id()).with_for_update(key_share=True)
    )
    now = utcnow()
    active = select(func.count(ApiKey.id)).where(
        ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)
    )
    if revoking is not None:
        active = active.where(ApiKey.id != revoking.id)
    if session.scalar(active) >= cap:
        raise Conflict(
            f"This tenant already has {cap} active API keys, the most allowed. Revoke one "
            "you no longer use (DELETE /api/v1/api_keys/{id}), or roll a key with "
            "expires_in_hours 0, which retires the old one at once.",
            code="api_key_limit",
        )


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
    # With no grace the old key stops counting now, so rolling at the cap is allowed.
    _check_cap(session=session, revoking=key if grace == dt.timedelta(0) else None)
    new_key, secret = _issue(
        session=session, name=key.name, scopes=list(key.scopes), mode=key.mode, expires_at=None
    )
    old_expiry = now + grace
    if key.expires_at is None or key.expires_at > old_expiry:
        key.expires_at = old_expiry
    if grace == dt.timedelta(0):
        key.revoked_at = now
    key.rolled_to_id = new_key.id
    session.flush()
    return new_key, secret
