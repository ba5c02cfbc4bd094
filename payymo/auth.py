"""X-API-Key → key → tenant; scopes. The one place authorization is decided."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payymo.errors import AuthenticationError, AuthorizationError
from payymo.models import ApiKey, Partner, PartnerKey, Tenant
from payymo.tenancy import system_scope, tenant_scope

KEY_MODES = ("live", "test")
SCOPES = (
    "invoices:read",
    "invoices:write",
    "transactions:read",
    "transactions:write",
    "events:read",
    "tenant:read",
    "tenant:write",
    "reconciliation:read",
    "reconciliation:write",
    "bank_connections:read",
    "bank_connections:write",
    "webhooks:read",
    "webhooks:write",
    "stripe:read",
    "stripe:write",
    "admin",
)
PARTNER_SCOPES = ("partner:read", "partner:write")
# Blueprints a partner key calls as itself (no X-Tenant-Id); no tenant key may.
PARTNER_BLUEPRINTS = {"partner_tenants", "partner_branding", "partner_webhook_endpoints"}
# Which scope family guards each API blueprint; reads need ":read", the rest ":write".
BLUEPRINT_SCOPES = {
    "invoices": "invoices",
    "transactions": "transactions",
    "bank_accounts": "transactions",
    "events": "events",
    "tenant": "tenant",
    "api_keys": "admin",
    "reconciliation": "reconciliation",
    "reconciliation_run": "reconciliation",
    "jobs": "reconciliation",
    "bank_connections": "bank_connections",
    "institutions": "bank_connections",
    "bank_integrations": "bank_connections",
    "webhook_endpoints": "webhooks",
    "event_redelivery": "webhooks",
    "stripe_integration": "stripe",
    "stripe": "stripe",
    "partner_tenants": "partner",
    "partner_branding": "partner",
    "partner_webhook_endpoints": "partner",
}
log = logging.getLogger(__name__)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_SECRET_BYTES = 32


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: ``secret`` is shown once, only the hash is stored."""

    secret: str
    prefix: str
    key_hash: str


def hash_key(secret: str) -> str:
    """SHA-256 hex of a key (keys are high-entropy, so a fast hash is safe)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(mode: str = "live") -> NewKey:
    """A new key like ``pym_live_…`` with 32 random bytes."""
    if mode not in KEY_MODES:
        raise ValueError(f"unknown key mode {mode!r}")
    secret = f"pym_{mode}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return NewKey(
        secret=secret, prefix=secret[: len(f"pym_{mode}_") + 6], key_hash=hash_key(secret)
    )


def extract_key(headers) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``."""
    key = headers.get("X-API-Key")
    if key:
        return key.strip()
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class KeyRefused(AuthenticationError):
    """A key that exists but may not be used (revoked, expired) or whose tenant is suspended.

    The client sees the same 401 as for an unknown key (no oracle for which keys exist);
    ``reason`` and the key's ids are what the audit log records.
    """

    def __init__(self, message: str, *, reason: str, key: ApiKey):
        super().__init__(message)
        self.reason = reason
        self.key_id = key.id
        self.tenant_id = key.tenant_id


class TenantSuspended(KeyRefused):
    """A valid key of a suspended tenant (403)."""

    status, type, code = 403, "authorization_error", "tenant_suspended"


INVALID_KEY = "Invalid API key provided."


@dataclass(frozen=True)
class PartnerCaller:
    """A partner's live key and the partner: who calls when a partner key is sent."""

    key: PartnerKey
    partner: Partner


class ActingPartner:
    """A partner key acting for one of its tenants: the request's key as the API sees it.

    Audit rows and rate limits name the partner key's id; its tenant scopes follow its
    partner scopes (``partner:write``: everything; ``partner:read``: every read).
    """

    def __init__(self, key: PartnerKey, tenant: Tenant):
        self.key = key
        self.id = key.id
        self.partner_id = key.partner_id
        self.tenant_id = tenant.id
        self.last_used_at = key.last_used_at
        if "partner:write" in key.scopes:
            self.scopes = ["admin"]
        else:
            self.scopes = [scope for scope in SCOPES if scope.endswith(":read")]


def _partner_caller(session: Session, digest: str) -> PartnerCaller | None:
    row = session.execute(
        select(PartnerKey, Partner)
        .join(Partner, Partner.id == PartnerKey.partner_id)
        .where(PartnerKey.key_hash == digest)
    ).one_or_none()
    if row is None or not hmac.compare_digest(row[0].key_hash, digest):
        return None
    key, partner = row
    if key.revoked_at is not None or partner.status != "active":
        raise AuthenticationError(INVALID_KEY)
    return PartnerCaller(key, partner)


def authenticate(
    session: Session, secret: str | None, *, now: dt.datetime
) -> tuple[ApiKey, Tenant] | PartnerCaller:
    """Resolve a key to its live ``ApiKey`` and active ``Tenant`` (or a partner's key) or raise.

    Unknown, revoked and expired keys all answer ``INVALID_KEY``; a tenant key's last two
    raise ``KeyRefused`` carrying the real reason for the audit log.
    """
    if not secret:
        raise AuthenticationError(
            "No API key provided. Send it in the X-API-Key header.", code="missing_api_key"
        )
    digest = hash_key(secret)
    with system_scope():
        row = session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == digest)
        ).one_or_none()
    if row is None:
        partner = _partner_caller(session, digest)
        if partner is not None:
            return partner
    if row is None or not hmac.compare_digest(row[0].key_hash, digest):
        raise AuthenticationError(INVALID_KEY)
    key, tenant = row
    if key.revoked_at is not None:
        raise KeyRefused(INVALID_KEY, reason="api_key_revoked", key=key)
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused(INVALID_KEY, reason="api_key_expired", key=key)
    if tenant.status != "active":
        raise TenantSuspended("This tenant is suspended.", reason="tenant_suspended", key=key)
    return key, tenant


def touch_last_used(session: Session, key: ApiKey | PartnerKey, *, now: dt.datetime) -> None:
    """Record use at most once a minute, in a transaction of its own that never waits.

    Called after the request's own transaction has ended: the row is locked only for
    this one statement, and a row another request is touching right now is skipped
    (``SKIP LOCKED``) rather than waited for, so requests on one key never queue here.
    A tenant's key is written in its tenant's scope; a partner's key belongs to none.
    """
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    model = type(key)
    stale = or_(model.last_used_at.is_(None), model.last_used_at < now - LAST_USED_RESOLUTION)
    free = select(model.id).where(model.id == key.id, stale).with_for_update(skip_locked=True)
    scope = tenant_scope(key.tenant_id) if isinstance(key, ApiKey) else nullcontext()
    try:
        with scope:
            session.execute(
                update(model)
                .where(model.id.in_(free))
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except DBAPIError as exc:  # bookkeeping only: never fails the request it follows
        session.rollback()
        log.warning("last_used_at not recorded", extra={"error": type(exc.orig).__name__})


def required_scope(blueprint: str | None, method: str) -> str | None:
    """The scope a request needs, or None for blueprints open to any valid key."""
    family = BLUEPRINT_SCOPES.get(blueprint or "")
    if family is None or family == "admin":
        return family
    return f"{family}:{'read' if method in ('GET', 'HEAD', 'OPTIONS') else 'write'}"


def check_scope(key: ApiKey, scope: str | None) -> None:
    """Raise ``AuthorizationError`` unless ``key`` carries ``scope`` (or admin)."""
    if scope is None or "admin" in key.scopes or scope in key.scopes:
        return
    raise AuthorizationError(
        f"This API key lacks the '{scope}' scope.", code="missing_scope", param=None
    )
