"""How a bank connection is shown: the API's answers and its events' ``data.object``."""

from __future__ import annotations

from payymo.representations import iso


def account_document(link) -> dict:
    """One synced account of a connection."""
    account = link.account
    return {
        "id": account.id,
        "name": account.name,
        "iban": account.iban,
        "currency": account.currency,
        "owner_name": link.owner_name,
        "linked": link.provider_account_id is not None,
        "balances": link.balances or [],
        "balances_updated_at": iso(link.balances_updated_at),
        "last_synced_at": iso(link.last_synced_at),
    }


def connection_document(conn) -> dict:
    """The connection with its accounts, as the API and events show it."""
    return {
        "object": "bank_connection",
        "id": conn.id,
        "provider": conn.provider,
        "institution_id": conn.institution_id,
        "institution_name": conn.institution_name,
        "status": conn.status,
        # The consent link is only useful (and only shown) while the consent is open.
        "link": conn.link if conn.status == "pending" else None,
        "redirect_url": conn.redirect_url,
        "max_historical_days": conn.max_historical_days,
        "access_valid_for_days": conn.access_valid_for_days,
        "linked_at": iso(conn.linked_at),
        "access_expires_at": iso(conn.access_expires_at),
        "last_synced_at": iso(conn.last_synced_at),
        "next_sync_at": iso(conn.next_sync_at),
        "last_error": conn.last_error,
        "last_error_code": conn.last_error_code,
        "accounts": [account_document(link) for link in conn.links],
        "created_at": iso(conn.created_at),
        "updated_at": iso(conn.updated_at),
    }
