"""Idempotency-Key handling: claim a key inside the request's transaction, replay later.

The claim is an INSERT on (tenant, key) in the same transaction as the effect, so a
concurrent request with the same key waits on the unique index until the first commits,
then replays its stored response: one effect. Failed requests roll their claim back, so
a retry runs again (nothing was written the first time).

A partner's calls of the partner API keep their own records, keyed by (partner, key).

A stored response can carry a secret shown once (a new API key's), so bodies are kept
encrypted with the configured key (``secrets_box``) for their 24 hours; a replay
decrypts and answers exactly what the first request answered, secret included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payymo import secrets_box
from payymo.db import utcnow
from payymo.errors import IdempotencyError, InvalidRequest
from payymo.ids import new_id
from payymo.models import IdempotencyRecord, PartnerIdempotencyRecord
from payymo.tenancy import current_tenant_id
from payymo.tenancy.partners import owned_by

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """A stored response to send again."""

    status: int
    body: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request, JSON bodies canonicalised (key order, spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _insert(session: Session, model):
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


def _store(partner_id: str | None):
    """The records' model, what picks the caller's own, and what marks a new one theirs.

    A tenant's are picked by the tenant scope itself (no criterion of ours).
    """
    if partner_id is None:
        return IdempotencyRecord, (), {"tenant_id": current_tenant_id()}
    model = PartnerIdempotencyRecord
    return model, (owned_by(model, partner_id),), {"partner_id": partner_id}


def claim(
    session: Session,
    *,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    ttl_seconds: int,
    partner_id: str | None = None,
) -> Replay | None:
    """Claim ``key`` for this request, or return the response to replay. Raises on misuse.

    The key is the tenant's in scope, or with ``partner_id`` the partner's.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            param="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    now = utcnow()
    model, own, owner = _store(partner_id)
    session.execute(
        delete(model)
        .where(*own, model.key == key, model.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    values = {
        "id": new_id("pidem" if partner_id else "idem"),
        **owner,
        "key": key,
        "request_hash": fingerprint,
        "method": method,
        "path": path,
        "created_at": now,
        "expires_at": now + dt.timedelta(seconds=ttl_seconds),
    }
    inserted = session.execute(
        _insert(session, model).values(**values).on_conflict_do_nothing().returning(model.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return None
    record = session.scalars(select(model).where(*own, model.key == key)).one()
    if record.request_hash != fingerprint:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they "
            "were first used with. Try a new Idempotency-Key.",
            param="Idempotency-Key",
        )
    if record.response_status is None:
        raise IdempotencyError(
            "A request with this Idempotency-Key is still in progress.",
            param="Idempotency-Key",
            code="idempotency_key_in_use",
        )
    return Replay(status=record.response_status, body=_read_body(record.response_body))


def complete(
    session: Session, *, key: str, status: int, body: str, partner_id: str | None = None
) -> None:
    """Store the response for ``key`` (in the same transaction as the effect)."""
    model, own, _owner = _store(partner_id)
    record = session.scalars(select(model).where(*own, model.key == key)).one()
    record.response_status = status
    record.response_body = secrets_box.encrypt(body)


def _read_body(stored: str | None) -> str:
    if not stored:
        return ""
    if stored.startswith(("{", "[")):
        return stored  # stored in plain text before bodies were encrypted (expires in 24 h)
    return secrets_box.decrypt(stored)


def purge_expired(session: Session) -> int:
    """Delete records past their 24 h lifetime (all tenants and partners); returns how many."""
    now, purged = utcnow(), 0
    for model in (IdempotencyRecord, PartnerIdempotencyRecord):
        result = session.execute(
            delete(model)
            .where(model.expires_at <= now)
            .execution_options(synchronize_session=False)
        )
        purged += result.rowcount or 0
    return purged
