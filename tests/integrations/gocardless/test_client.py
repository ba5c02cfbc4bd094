"""The GoCardless client (real ``requests``) against the fake server over loopback."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from integrations.banking import (
    AuthenticationFailed,
    ConsentExpired,
    ConsentStatus,
    MalformedData,
    NotFoundAtProvider,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from integrations.banking.tokens import MemoryTokenStore
from integrations.gocardless import create_provider
from integrations.gocardless.fake import FakeGoCardless, serve_in_thread
from integrations.gocardless.fake.bank import generate_statement

SANDBOX = "SANDBOXFINANCE_SFIN0000"


@pytest.fixture
def local():
    served = serve_in_thread(FakeGoCardless())
    yield served
    served.stop()


def provider(local, store=None, **options):
    options.setdefault("sleep", lambda _seconds: None)
    return create_provider(
        credentials=local.credentials, base_url=local.base_url, token_store=store, **options
    )


def linked(local, p, *, history=90, access=90):
    consent = p.start_consent(
        institution_id=SANDBOX,
        redirect_url="http://127.0.0.1:9/back?state=s1",
        reference="ref-1",
        max_history_days=history,
        access_days=access,
    )
    url = consent.link
    for _ in range(10):
        response = requests.get(url, allow_redirects=False, timeout=5)
        location = response.headers["Location"]
        if not location.startswith("/"):
            assert location == "http://127.0.0.1:9/back?state=s1&ref=ref-1"
            break
        url = local.base_url.split("/api/")[0] + location
    return p.complete_consent(consent.id, {"ref": "ref-1"})


def test_the_consent_walk_links_the_sandbox_accounts_and_a_new_consent_gets_new_ids(local):
    p = provider(local)
    first = linked(local, p)
    assert first.status is ConsentStatus.LINKED and len(first.accounts) == 2
    second = linked(local, p)
    assert set(second.accounts).isdisjoint(first.accounts)
    ibans = {p.account(a).iban for a in first.accounts}
    assert ibans == {p.account(a).iban for a in second.accounts}


def test_day_counts_are_clamped_to_the_bank_and_a_refused_agreement_falls_back_to_90(local):
    p = provider(local)
    consent = linked(local, p, history=730, access=180)
    agreement = local.fake.agreements[consent.agreement_id]
    assert (agreement["max_historical_days"], agreement["access_valid_for_days"]) == (90, 90)
    local.fake.fail_next(
        "/agreements/",
        status=400,
        body={
            "summary": "Incorrect access_valid_for_days",
            "detail": "Bank refuses 180",
            "status_code": 400,
        },
    )
    fallback = p.start_consent(
        institution_id="REVOLUT_REVOGB21",
        redirect_url="http://127.0.0.1:9/back",
        reference="ref-2",
        max_history_days=730,
        access_days=180,
    )
    assert (fallback.max_history_days, fallback.access_days) == (90, 90)


def test_an_unknown_institution_is_not_found(local):
    with pytest.raises(NotFoundAtProvider):
        provider(local).institution("NO_SUCH_BANK")


def test_tokens_are_cached_across_providers_sharing_a_store_and_renewed_once_when_invalid(local):
    store = MemoryTokenStore()
    provider(local, store).institutions(country="GB")
    provider(local, store).institutions(country="GB")
    assert local.fake.calls["/api/v2/token/new/"] == 1
    local.fake.expire_tokens()
    assert provider(local, store).institutions(country="GB")
    # Two answered calls, then one 401 "Invalid token", a refresh and one retry.
    assert local.fake.calls["/api/v2/institutions/"] == 4
    assert local.fake.calls["/api/v2/token/refresh/"] == 1
    assert local.fake.calls["/api/v2/token/new/"] == 1


def test_an_expired_access_token_is_refreshed_not_renewed(local):
    store = MemoryTokenStore()
    p = provider(local, store)
    p.institutions(country="GB")
    # The cached access token is gone (as when its TTL ends); the refresh token remains.
    p.client.tokens.drop_access()
    p.institutions(country="GB")
    assert local.fake.calls["/api/v2/token/refresh/"] == 1
    assert local.fake.calls["/api/v2/token/new/"] == 1


def test_wrong_credentials_are_an_authentication_error(local):
    p = create_provider(
        credentials={"secret_id": "x", "secret_key": "s3cr3t-value"}, base_url=local.base_url
    )
    with pytest.raises(AuthenticationFailed) as caught:
        p.institutions(country="GB")
    said = f"{caught.value.message} {caught.value.provider_message}"
    assert "s3cr3t-value" not in said and "credentials" in said


def test_5xx_is_retried_with_backoff_then_succeeds(local):
    pauses = []
    p = provider(local, sleep=pauses.append)
    local.fake.fail_next("/institutions/", status=503, times=2)
    assert p.institutions(country="GB")
    assert len(pauses) == 2 and all(0 <= s <= 0.5 * 2**i for i, s in enumerate(pauses))


def test_retries_exhausted_and_timeouts_become_provider_unavailable(local):
    p = provider(local, retries=1)
    local.fake.fail_next("/institutions/", status=500, times=5)
    with pytest.raises(ProviderUnavailable):
        p.institutions(country="GB")
    local.fake.reset()
    slow = provider(local, retries=1, timeout=(1.0, 0.05))
    local.fake.fail_next("/institutions/", status=200, delay=0.3, times=2)
    with pytest.raises(ProviderUnavailable) as caught:
        slow.institutions(country="GB")
    assert "in time" in caught.value.message


def test_a_429_is_never_retried_and_says_when_the_limit_resets(local):
    p = provider(local)
    consent = linked(local, p)
    account = consent.accounts[0]
    for _ in range(4):
        p.transactions(account, date_from=None, date_to=None)
    before = local.fake.calls[f"/api/v2/accounts/{account}/transactions/"]
    with pytest.raises(RateLimited) as caught:
        p.transactions(account, date_from=None, date_to=None)
    assert local.fake.calls[f"/api/v2/accounts/{account}/transactions/"] == before + 1
    assert 86_000 < caught.value.retry_after <= 86_401  # from HTTP_X_RATELIMIT_*_RESET
    # Failed calls do not count, and the budget is per scope: balances still answer.
    assert p.balances(account)
    local.fake.advance(86_401)
    assert p.transactions(account, date_from=None, date_to=None).booked


def test_retry_after_is_read_from_the_detail_when_no_header(local):
    p = provider(local)
    local.fake.fail_next(
        "/institutions/",
        status=429,
        body={
            "summary": "Rate limit exceeded",
            "detail": "Please try again in 85092 seconds",
            "status_code": 429,
        },
    )
    with pytest.raises(RateLimited) as caught:
        p.institutions(country="GB")
    assert caught.value.retry_after == 85092
    assert "23 h 38 min" in caught.value.message


def test_expired_and_suspended_consents_have_their_own_errors(local):
    p = provider(local)
    consent = linked(local, p)
    local.fake.expire_agreement(consent.id)
    with pytest.raises(ConsentExpired) as caught:
        p.balances(consent.accounts[0])
    assert "has expired" in caught.value.provider_message
    assert p.consent(consent.id).status is ConsentStatus.EXPIRED
    other = linked(local, p)
    local.fake.suspend(other.id)
    from integrations.banking import AccountSuspended

    with pytest.raises(AccountSuspended):
        p.transactions(other.accounts[0], date_from=None, date_to=None)
    assert p.consent(other.id).status is ConsentStatus.SUSPENDED


def test_malformed_bodies_and_lines(local):
    p = provider(local)
    consent = linked(local, p)
    account = consent.accounts[0]
    local.fake.fail_next("/accounts/", status=200, body=b'{"transactions": ')
    with pytest.raises(MalformedData):
        p.transactions(account, date_from=None, date_to=None)
    iban = p.account(account).iban
    local.fake.add_lines(
        iban,
        booked=[
            {"transactionId": "M1", "bookingDate": "2026-11-01"},
            {"transactionId": "M2", "transactionAmount": {"amount": "1e3", "currency": "GBP"}},
            {"transactionId": "M3", "transactionAmount": {"amount": "5.00", "currency": "EURO"}},
        ],
    )
    page = p.transactions(account, date_from=None, date_to=None)
    reasons = {m.raw.get("transactionId"): m.reason for m in page.malformed}
    assert set(reasons) == {"M1", "M2", "M3"}
    assert "transactionAmount is missing" in reasons["M1"]
    assert len(page.booked) == 4  # the sandbox's own lines still map


def test_status_as_an_object_and_pending_without_ids(local):
    p = provider(local)
    local.fake.status_as_object = True
    consent = linked(local, p)
    assert consent.status is ConsentStatus.LINKED
    page = p.transactions(consent.accounts[0], date_from=None, date_to=None)
    assert [t.id for t in page.pending] == [None]
    assert page.pending[0].amount < 0 and page.pending[0].counterparty_name == "Pret A Manger"


def test_incorrect_date_range_is_a_rejected_request(local):
    p = provider(local)
    consent = linked(local, p)
    with pytest.raises(RequestRejected) as caught:
        p.transactions(
            consent.accounts[0], date_from=dt.date(2026, 11, 2), date_to=dt.date(2026, 11, 1)
        )
    assert "Incorrect date range" in caught.value.provider_message


def test_revoke_deletes_the_requisition_and_a_second_revoke_is_fine(local):
    p = provider(local)
    consent = linked(local, p)
    p.revoke(consent.id)
    assert consent.id not in local.fake.requisitions
    p.revoke(consent.id)


def test_the_generator_is_deterministic_and_a_large_statement_is_served(local):
    end = dt.date(2026, 11, 27)
    first = generate_statement(count=1000, end=end, seed=7)
    assert first == generate_statement(count=1000, end=end, seed=7)
    assert first != generate_statement(count=1000, end=end, seed=8)
    account = local.fake.add_account(SANDBOX, "DE89370400440532013000", "EUR")
    account.booked = generate_statement(count=100_000, end=end, seed=1)
    p = provider(local)
    consent = linked(local, p)
    big = next(a for a in consent.accounts if p.account(a).iban == "DE89370400440532013000")
    page = p.transactions(big, date_from=None, date_to=None)
    assert len(page.booked) == 100_000 and not page.malformed
    local.fake.banks[SANDBOX].remove(account)
