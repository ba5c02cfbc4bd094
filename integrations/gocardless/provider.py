"""``GoCardlessProvider``: the ``BankProvider`` protocol over the Bank Account Data API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from integrations.banking import (
    Account,
    Balance,
    Consent,
    Institution,
    NotFoundAtProvider,
    RequestRejected,
    TransactionPage,
)
from integrations.gocardless import mapping

SCOPE = ["balances", "details", "transactions"]
# What every bank accepts when it refuses the longer agreement it advertised.
FALLBACK_DAYS = 90


class GoCardlessProvider:
    """Bank data through GoCardless; every method raises the interface's typed errors."""

    name = "gocardless"

    def __init__(self, client):
        self.client = client

    def institutions(self, *, country: str) -> list[Institution]:
        """Banks available in ``country``."""
        body = self.client.send("GET", "/institutions/", params={"country": country.lower()})
        return [mapping.institution(item) for item in body or []]

    def institution(self, institution_id: str) -> Institution:
        """One bank."""
        try:
            body = self.client.send("GET", f"/institutions/{institution_id}/")
        except RequestRejected as exc:
            raise NotFoundAtProvider(
                f"Unknown institution {institution_id!r}.",
                provider_message=exc.provider_message,
                status_code=exc.status_code,
            ) from None
        return mapping.institution(body)

    def _agreement(self, institution_id: str, history: int, access: int) -> dict:
        return self.client.send(
            "POST",
            "/agreements/enduser/",
            json={
                "institution_id": institution_id,
                "max_historical_days": history,
                "access_valid_for_days": access,
                "access_scope": SCOPE,
            },
        )

    def start_consent(
        self,
        *,
        institution_id: str,
        redirect_url: str,
        reference: str,
        max_history_days: int,
        access_days: int,
        language: str | None = None,
    ) -> Consent:
        """Agreement (clamped to the bank, 90/90 when refused) then requisition."""
        bank = self.institution(institution_id)
        history = max(1, min(max_history_days, bank.max_history_days))
        access = max(1, min(access_days, bank.max_access_days))
        try:
            agreement = self._agreement(bank.id, history, access)
        except RequestRejected as exc:
            if isinstance(exc, NotFoundAtProvider) or (
                history <= FALLBACK_DAYS and access <= FALLBACK_DAYS
            ):
                raise
            history, access = min(history, FALLBACK_DAYS), min(access, FALLBACK_DAYS)
            agreement = self._agreement(bank.id, history, access)
        body = {
            "redirect": redirect_url,
            "institution_id": bank.id,
            "reference": reference,
            "agreement": agreement["id"],
        }
        if language:
            body["user_language"] = language.upper()
        requisition = self.client.send("POST", "/requisitions/", json=body)
        return mapping.consent(requisition, agreement)

    def callback_reference(self, params: Mapping[str, str]) -> str | None:
        """GoCardless appends ``ref=<reference>`` to the redirect."""
        return params.get("ref")

    def complete_consent(self, consent_id: str, params: Mapping[str, str]) -> Consent:
        """The requisition as it stands after the redirect back."""
        return self.consent(consent_id)

    def consent(self, consent_id: str) -> Consent:
        """The requisition's status and accounts."""
        return mapping.consent(self.client.send("GET", f"/requisitions/{consent_id}/"))

    def accounts(self, consent_id: str) -> list[str]:
        """Account ids of a requisition."""
        return list(self.consent(consent_id).accounts)

    def account_metadata(self, account_id: str) -> Account:
        """Metadata only (not counted against the daily budget)."""
        return mapping.account(self.client.send("GET", f"/accounts/{account_id}/"), None)

    def account(self, account_id: str) -> Account:
        """Metadata and details (one ``details`` call of the daily budget)."""
        meta = self.client.send("GET", f"/accounts/{account_id}/")
        details = self.client.send("GET", f"/accounts/{account_id}/details/")
        return mapping.account(meta or {}, details)

    def balances(self, account_id: str) -> list[Balance]:
        """Balances (one ``balances`` call of the daily budget)."""
        return mapping.balances(self.client.send("GET", f"/accounts/{account_id}/balances/"))

    def transactions(
        self, account_id: str, *, date_from: dt.date | None, date_to: dt.date | None
    ) -> TransactionPage:
        """Booked and pending lines (one ``transactions`` call of the daily budget)."""
        params = {}
        if date_from:
            params["date_from"] = date_from.isoformat()
        if date_to:
            params["date_to"] = date_to.isoformat()
        body = self.client.send("GET", f"/accounts/{account_id}/transactions/", params=params)
        return mapping.transactions(body)

    def revoke(self, consent_id: str) -> None:
        """Delete the requisition (and its agreement); already gone is fine."""
        try:
            self.client.send("DELETE", f"/requisitions/{consent_id}/")
        except NotFoundAtProvider:
            return
