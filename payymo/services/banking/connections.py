"""Bank connections: start a consent, complete it on the redirect back, list, revoke.

The consent's redirect reaches Payymo without an API key: the connection is found by
its unguessable ``reference`` (carried in our callback URL as ``state``), and a
reference already used, or unknown, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.banking import BankProviderError, ConsentStatus, NotFoundAtProvider
from payymo.db import utcnow
from payymo.errors import Conflict, InvalidRequest, ProviderError
from payymo.models import BankAccount, BankConnection, ProviderAccount
from payymo.pagination import Page, paginate
from payymo.services import jobs
from payymo.services.banking import budget
from payymo.services.banking.events import emit_connection
from payymo.services.banking.providers import provider_for
from payymo.services.banking.wording import describe
from payymo.tenancy import get_for_update_or_404, get_or_404

# What we ask for when the tenant does not say: all the history and the longest access
# the bank allows, capped at 180 days (the most any bank grants through GoCardless).
DEFAULT_ACCESS_DAYS = 180
REFRESHABLE = ("linked",)
RECONNECTABLE = ("expired", "suspended", "error", "pending")


def _provider_error(exc: BankProviderError) -> ProviderError:
    return ProviderError(describe(exc), code="bank_provider_error")


def _institution(provider, institution_id: str):
    try:
        return provider.institution(institution_id)
    except NotFoundAtProvider:
        raise InvalidRequest(
            f"Unknown institution '{institution_id}': list the banks with GET "
            "/api/v1/institutions?country=XX.",
            param="institution_id",
            code="unknown_institution",
        ) from None
    except BankProviderError as exc:
        raise _provider_error(exc) from exc


def _start(conn: BankConnection, provider, institution, callback_url: str, history, access):
    history = min(history or institution.max_history_days, institution.max_history_days)
    access = min(access or DEFAULT_ACCESS_DAYS, institution.max_access_days)
    try:
        consent = provider.start_consent(
            institution_id=institution.id,
            redirect_url=_with_query(callback_url, {"state": conn.reference}),
            reference=conn.reference,
            max_history_days=history,
            access_days=access,
        )
    except NotFoundAtProvider:
        raise InvalidRequest(
            f"Unknown institution '{institution.id}'.",
            param="institution_id",
            code="unknown_institution",
        ) from None
    except BankProviderError as exc:
        raise _provider_error(exc) from exc
    conn.consent_id = consent.id
    conn.agreement_id = consent.agreement_id
    conn.link = consent.link
    conn.max_historical_days = consent.max_history_days or history
    conn.access_valid_for_days = consent.access_days or access


def create_connection(
    *,
    session: Session,
    institution_id: str,
    redirect_url: str,
    callback_url: str,
    max_historical_days: int | None = None,
    access_valid_for_days: int | None = None,
) -> BankConnection:
    """Start a consent at the provider; the end user follows ``link``."""
    provider = provider_for(session)
    institution = _institution(provider, institution_id)
    conn = BankConnection(
        provider=provider.name,
        institution_id=institution.id,
        institution_name=institution.name,
        status="pending",
        reference=secrets.token_urlsafe(32),
        redirect_url=redirect_url,
    )
    _start(conn, provider, institution, callback_url, max_historical_days, access_valid_for_days)
    session.add(conn)
    emit_connection(session, conn, "bank_connection.created")
    return conn


def reconnect(*, session: Session, connection_id: str, callback_url: str) -> BankConnection:
    """A new consent for a connection that needs one; accounts are kept and re-mapped by IBAN."""
    conn = get_for_update_or_404(session, BankConnection, connection_id)
    if conn.status not in RECONNECTABLE:
        raise Conflict(
            f"Connection '{conn.id}' is {conn.status}; only an expired, suspended or failed "
            "connection can be reconnected.",
            code="connection_not_reconnectable",
        )
    previous = {"status": conn.status}
    provider = provider_for(session, conn.provider)
    institution = _institution(provider, conn.institution_id)
    conn.reference = secrets.token_urlsafe(32)
    _start(conn, provider, institution, callback_url, conn.max_historical_days, None)
    conn.status = "pending"
    conn.last_error = conn.last_error_code = None
    emit_connection(session, conn, "bank_connection.updated", previous)
    return conn


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def find_by_reference(session: Session, reference: str | None) -> BankConnection:
    """The connection a callback's reference names (system scope); 400 when unknown."""
    conn = None
    if reference and len(reference) <= 64:
        conn = session.scalar(select(BankConnection).where(BankConnection.reference == reference))
    if conn is None:
        raise InvalidRequest(
            "This bank consent callback is not one Payymo started.",
            param="state",
            code="unknown_consent_reference",
        )
    return conn


def complete_consent(*, session: Session, connection_id: str, params: dict) -> tuple:
    """Confirm the consent; link its accounts. Answers the connection and the redirect URL."""
    conn = get_for_update_or_404(session, BankConnection, connection_id)
    if conn.status != "pending":
        raise InvalidRequest(
            "This bank consent callback was already used.",
            param="state",
            code="consent_reference_used",
        )
    provider = provider_for(session, conn.provider)
    previous = {"status": conn.status}
    try:
        consent = provider.complete_consent(conn.consent_id, params)
        if consent.status == ConsentStatus.LINKED:
            _link_accounts(session, conn, provider, consent.accounts)
            jobs.request_bank_sync(session=session, connection_id=conn.id, reason="linked")
            outcome = "linked"
        elif consent.status.in_progress:
            outcome = "pending"
        else:
            conn.status = "error"
            conn.last_error = "The consent was not given at the bank; start a new connection."
            conn.last_error_code = f"consent_{consent.status.value}"
            outcome = "error"
    except BankProviderError as exc:
        conn.last_error, conn.last_error_code = describe(exc), "consent_failed"
        outcome = "error"
    if conn.status != previous["status"]:
        emit_connection(session, conn, "bank_connection.updated", previous)
    redirect = _with_query(conn.redirect_url, {"connection_id": conn.id, "status": outcome})
    return conn, outcome, redirect


def _link_accounts(session: Session, conn: BankConnection, provider, account_ids) -> None:
    now = utcnow()
    existing = {link.account_id: link for link in session.scalars(select(ProviderAccount))}
    by_iban = {}
    for account in session.scalars(select(BankAccount).where(BankAccount.kind == "provider")):
        if account.iban:
            by_iban.setdefault(account.iban, account)
    for link in existing.values():
        if link.connection_id == conn.id:
            link.provider_account_id = None  # granted again below, or no longer
    for provider_account_id in account_ids:
        details = provider.account(provider_account_id)
        iban = "".join((details.iban or "").split()).upper() or None
        account = by_iban.get(iban) if iban else None
        if account is None:
            account = BankAccount(
                kind="provider",
                name=(details.name or details.product or f"{conn.institution_name} account")[:200],
                currency=(details.currency or "EUR").upper(),
                iban=iban,
            )
            session.add(account)
            session.flush()
        link = existing.get(account.id) or ProviderAccount(account_id=account.id)
        link.connection_id = conn.id
        link.provider_account_id = provider_account_id
        link.owner_name = details.owner_name
        budget.record(link, "details", now)
        session.add(link)
    conn.status = "linked"
    conn.linked_at = now
    conn.access_expires_at = now + dt.timedelta(days=conn.access_valid_for_days)
    conn.expiring_notified_at = None
    conn.next_sync_at = now
    conn.last_error = conn.last_error_code = None
    session.flush()
    session.refresh(conn, ["links"])


def get_connection(*, session: Session, connection_id: str) -> BankConnection:
    """One connection of the current tenant."""
    return get_or_404(session, BankConnection, connection_id)


def list_connections(*, session: Session, filters: dict, page: dict) -> Page:
    """Newest-first page of connections, optionally by status."""
    stmt = select(BankConnection)
    if filters.get("status"):
        stmt = stmt.where(BankConnection.status == filters["status"])
    return paginate(session, stmt, BankConnection, prefix="bc", **page)


def revoke(*, session: Session, connection_id: str) -> BankConnection:
    """Withdraw the consent at the provider and stop syncing; transactions are kept."""
    conn = get_for_update_or_404(session, BankConnection, connection_id)
    if conn.status == "revoked":
        return conn
    previous = {"status": conn.status}
    if conn.consent_id:
        try:
            provider_for(session, conn.provider).revoke(conn.consent_id)
        except BankProviderError as exc:
            raise _provider_error(exc) from exc
    conn.status = "revoked"
    conn.revoked_at = utcnow()
    conn.next_sync_at = None
    conn.link = None
    emit_connection(session, conn, "bank_connection.updated", previous)
    return conn
