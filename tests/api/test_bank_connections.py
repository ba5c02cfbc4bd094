"""Bank connections through the fake GoCardless: consent, accounts, sync, limits, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from payymo.services import table_statistics
from tests.banking import (
    MAIN_IBAN,
    REDIRECT,
    SANDBOX,
    SAVINGS_IBAN,
    callback,
    connect,
    query,
    sync,
    walk,
)
from tests.reconciliation_helpers import assert_error


def _events(api, event_type: str) -> list[dict]:
    return api.get(f"events?type={event_type}&limit=100").json["data"]


def _transactions(api, account_id: str) -> list[dict]:
    return api.get(f"transactions?account_id={account_id}&limit=100").json["data"]


def test_institutions_of_a_country_include_the_sandbox_bank_with_its_limits(api, gocardless):
    response = api.get("institutions?country=gb")
    assert response.status_code == 200
    banks = {bank["id"]: bank for bank in response.json["data"]}
    assert banks[SANDBOX]["name"] == "Sandbox Finance"
    # Day counts arrive as strings and are answered as numbers.
    assert banks["REVOLUT_REVOGB21"]["max_historical_days"] == 730
    assert banks["REVOLUT_REVOGB21"]["max_access_valid_for_days"] == 180
    assert_error(api.get("institutions?country=XX"), 400, param="country")
    assert_error(api.get("institutions"), 400, param="country")


def test_connecting_the_sandbox_bank_links_its_accounts_and_redirects_the_user_back(
    api, app, gocardless
):
    created, back = connect(api, app)
    assert (created["status"], created["object"]) == ("pending", "bank_connection")
    assert created["link"].startswith("http://127.0.0.1:")
    # Clamped to the bank's limits (the sandbox allows 90 days of each).
    assert (created["max_historical_days"], created["access_valid_for_days"]) == (90, 90)
    assert back.status_code == 302
    assert back.headers["Location"].startswith(REDIRECT + "?")
    assert query(back.headers["Location"]) == {"connection_id": created["id"], "status": "linked"}

    conn = api.get(f"bank_connections/{created['id']}").json
    assert conn["status"] == "linked" and conn["link"] is None
    assert {a["iban"] for a in conn["accounts"]} == {MAIN_IBAN, SAVINGS_IBAN}
    assert conn["access_expires_at"] is not None
    accounts = api.get("bank_accounts?kind=provider").json["data"]
    assert {a["iban"] for a in accounts} == {MAIN_IBAN, SAVINGS_IBAN}
    assert {a["currency"] for a in accounts} == {"GBP"}
    jobs = api.get("jobs?type=bank_sync").json["data"]
    assert [job["subject_id"] for job in jobs] == [created["id"]]
    assert len(_events(api, "bank_connection.created")) == 1
    updated = _events(api, "bank_connection.updated")
    assert updated[0]["data"]["previous_attributes"] == {"status": "pending"}


def test_a_sync_imports_lines_and_balances_once(api, app, tenant, gocardless):
    created, _ = connect(api, app)
    sync(tenant, created["id"])
    conn = api.get(f"bank_connections/{created['id']}").json
    main = next(a for a in conn["accounts"] if a["iban"] == MAIN_IBAN)
    lines = _transactions(api, main["id"])
    assert sorted(t["amount"] for t in lines) == [-4320, -950, 9999, 45050, 120000]
    assert {t["status"] for t in lines if t["amount"] == -950} == {"pending"}
    assert main["balances"][0]["amount"] == 191312
    assert main["balances"][0]["amount_display"] == "1913.12"
    assert conn["last_synced_at"] is not None and conn["next_sync_at"] > conn["last_synced_at"]
    assert conn["last_error"] is None
    # Another sync (the overlap re-reads recent days) writes nothing twice.
    sync(tenant, created["id"])
    assert len(_transactions(api, main["id"])) == 5
    created_events = _events(api, "transaction.created")
    assert len(created_events) == 6  # five lines on the main account, one on savings
    assert api.get("jobs?type=reconcile").json["data"], "new credits ask for a reconcile run"


def test_a_pending_line_that_books_under_a_new_id_stays_one_transaction(
    api, app, tenant, gocardless
):
    created, _ = connect(api, app)
    sync(tenant, created["id"])
    gocardless.book_pending(MAIN_IBAN)
    sync(tenant, created["id"])
    conn = api.get(f"bank_connections/{created['id']}").json
    main = next(a for a in conn["accounts"] if a["iban"] == MAIN_IBAN)
    coffee = [t for t in _transactions(api, main["id"]) if t["amount"] == -950]
    assert len(coffee) == 1
    assert coffee[0]["status"] == "booked" and coffee[0]["provider_id"].startswith("BK-")


def test_a_malformed_line_is_reported_and_the_rest_imported(api, app, tenant, gocardless):
    created, _ = connect(api, app)
    day = dt.date.today().isoformat()
    gocardless.add_lines(
        MAIN_IBAN,
        booked=[
            {
                "transactionId": "BAD-1",
                "bookingDate": day,
                "transactionAmount": {"amount": "1.234", "currency": "GBP"},
            },
            {"transactionId": "BAD-2", "bookingDate": day},
        ],
    )
    try:
        sync(tenant, created["id"])
        conn = api.get(f"bank_connections/{created['id']}").json
        assert conn["last_error_code"] == "malformed_transactions"
        assert conn["last_error"].startswith("2 line(s) from the bank could not be read")
        main = next(a for a in conn["accounts"] if a["iban"] == MAIN_IBAN)
        assert len(_transactions(api, main["id"])) == 5
    finally:
        _forget(gocardless, "BAD")


def test_the_callback_answers_400_for_an_unknown_or_used_reference(api, app, gocardless):
    created = api.post(
        "bank_connections", json={"institution_id": SANDBOX, "redirect_url": REDIRECT}
    ).json
    url = walk(created["link"])
    assert callback(app, url).status_code == 302
    replay = callback(app, url)
    assert_error(replay, 400, param="state")
    assert replay.json["error"]["code"] == "consent_reference_used"
    unknown = app.test_client().get("/api/v1/bank_connections/callback?state=nosuchreference")
    assert_error(unknown, 400, param="state")
    assert api.get(f"bank_connections/{created['id']}").json["status"] == "linked"


def test_a_consent_the_user_rejects_leaves_a_connection_in_error(api, app, gocardless):
    gocardless.reject_next_consent = True
    created, back = connect(api, app)
    assert query(back.headers["Location"])["status"] == "error"
    conn = api.get(f"bank_connections/{created['id']}").json
    assert conn["status"] == "error"
    assert "not given" in conn["last_error"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"institution_id": "NO_SUCH_BANK", "redirect_url": REDIRECT}, "institution_id"),
        ({"institution_id": SANDBOX, "redirect_url": "ftp://x.example/back"}, "redirect_url"),
        ({"institution_id": SANDBOX, "redirect_url": "/relative"}, "redirect_url"),
        (
            {"institution_id": SANDBOX, "redirect_url": REDIRECT, "max_historical_days": 0},
            "max_historical_days",
        ),
        ({"institution_id": SANDBOX}, "redirect_url"),
    ],
)
def test_bad_connection_requests_answer_400_with_the_reason(api, gocardless, body, param):
    assert_error(api.post("bank_connections", json=body), 400, param=param)
    assert api.get("bank_connections").json["data"] == []


def test_refresh_queues_a_sync_then_answers_429_naming_when_the_budget_allows(
    api, app, tenant, gocardless
):
    created, _ = connect(api, app)
    for _ in range(4):
        sync(tenant, created["id"])  # the bank allows 4 a day per account
    refused = api.post(f"bank_connections/{created['id']}/refresh")
    body = assert_error(refused, 429)
    assert body["code"] == "bank_sync_limit"
    assert "4 syncs a day" in body["message"] and "UTC" in body["message"]
    assert int(refused.headers["Retry-After"]) > 80_000


def test_refresh_of_a_fresh_connection_answers_202_with_its_sync_job(api, app, gocardless):
    created, _ = connect(api, app)
    response = api.post(f"bank_connections/{created['id']}/refresh")
    assert response.status_code == 202
    assert (response.json["type"], response.json["subject_id"]) == ("bank_sync", created["id"])


def test_the_providers_429_moves_the_next_sync_to_its_reset_without_failing(
    api, app, tenant, gocardless
):
    created, _ = connect(api, app)
    gocardless.fail_next(
        "/accounts/",
        status=429,
        body={
            "summary": "Rate limit exceeded",
            "detail": "The rate limit for this resource is 4/day. Please try again in 7200 seconds",
            "status_code": 429,
        },
        times=4,
    )
    result = sync(tenant, created["id"])
    assert "error" not in result
    conn = api.get(f"bank_connections/{created['id']}").json
    assert conn["status"] == "linked"
    assert conn["last_error_code"] == "rate_limited"
    assert "used up until" in conn["last_error"]
    assert conn["next_sync_at"] > conn["last_synced_at"]


def test_provider_outage_keeps_the_state_and_imports_nothing(api, app, tenant, gocardless):
    from payymo.services.banking.sync import SyncRetry

    created, _ = connect(api, app)
    gocardless.add_lines(MAIN_IBAN, booked=[_line("OUTAGE-1")])
    gocardless.fail_next("/accounts/", status=503, times=50)
    with pytest.raises(SyncRetry):
        sync(tenant, created["id"])
    conn = api.get(f"bank_connections/{created['id']}").json
    assert conn["status"] == "linked"
    assert conn["last_error_code"] == "provider_unavailable"
    main = next(a for a in conn["accounts"] if a["iban"] == MAIN_IBAN)
    assert "OUTAGE-1" not in {t["provider_id"] for t in _transactions(api, main["id"])}
    gocardless.reset()
    sync(tenant, created["id"])  # once the provider is back, the line arrives once
    ids = [t["provider_id"] for t in _transactions(api, main["id"])]
    assert ids.count("OUTAGE-1") == 1
    _forget(gocardless, "OUTAGE-")


def _line(transaction_id: str) -> dict:
    day = dt.date.today().isoformat()
    return {
        "transactionId": transaction_id,
        "bookingDate": day,
        "transactionAmount": {"amount": "10.00", "currency": "GBP"},
        "debtorName": "Late Payer",
    }


def _forget(gocardless, prefix: str) -> None:
    account = gocardless.bank_account(MAIN_IBAN)
    account.booked = [
        i for i in account.booked if not i.get("transactionId", "").startswith(prefix)
    ]
    account.changed()


def test_an_expired_agreement_marks_the_connection_and_reconnect_keeps_the_accounts(
    api, app, tenant, gocardless
):
    created, _ = connect(api, app)
    sync(tenant, created["id"])
    before = api.get(f"bank_connections/{created['id']}").json
    state = _state(gocardless, created)
    requisition = next(r for r in gocardless.requisitions.values() if r["reference"] == state)
    gocardless.expire_agreement(requisition["id"])
    sync(tenant, created["id"])
    expired = api.get(f"bank_connections/{created['id']}").json
    assert (expired["status"], expired["last_error_code"]) == ("expired", "consent_expired")
    assert "reconnect" in expired["last_error"]
    assert len(_events(api, "bank_connection.expired")) == 1
    assert_error(api.post(f"bank_connections/{created['id']}/refresh"), 409)

    again = api.post(f"bank_connections/{created['id']}/reconnect")
    assert again.status_code == 200 and again.json["status"] == "pending"
    back = callback(app, walk(again.json["link"]))
    assert query(back.headers["Location"])["status"] == "linked"
    sync(tenant, created["id"])
    after = api.get(f"bank_connections/{created['id']}").json
    # New provider account ids, the same bank accounts: history continues, no duplicates.
    assert {a["id"] for a in after["accounts"]} == {a["id"] for a in before["accounts"]}
    main = next(a for a in after["accounts"] if a["iban"] == MAIN_IBAN)
    assert len(_transactions(api, main["id"])) == 5


def _state(gocardless, created) -> str:
    from payymo import db
    from payymo.models import BankConnection
    from payymo.tenancy import system_scope

    with system_scope():
        return db.session.get(BankConnection, created["id"]).reference


def test_a_suspended_account_suspends_the_connection(api, app, tenant, gocardless):
    created, _ = connect(api, app)
    state = _state(gocardless, created)
    requisition = next(r for r in gocardless.requisitions.values() if r["reference"] == state)
    gocardless.suspend(requisition["id"])
    sync(tenant, created["id"])
    conn = api.get(f"bank_connections/{created['id']}").json
    assert (conn["status"], conn["last_error_code"]) == ("suspended", "account_suspended")


def test_delete_revokes_at_the_provider_and_keeps_the_transactions(api, app, tenant, gocardless):
    created, _ = connect(api, app)
    sync(tenant, created["id"])
    state = _state(gocardless, created)
    requisition = next(r for r in gocardless.requisitions.values() if r["reference"] == state)
    response = api.delete(f"bank_connections/{created['id']}")
    assert response.status_code == 200 and response.json["status"] == "revoked"
    assert requisition["id"] not in gocardless.requisitions
    main = next(a for a in response.json["accounts"] if a["iban"] == MAIN_IBAN)
    assert len(_transactions(api, main["id"])) == 5
    assert sync(tenant, created["id"]) == {"skipped": "connection_revoked"}


def test_another_tenants_connection_is_404(api, other_api, app, gocardless):
    created, _ = connect(api, app)
    for response in (
        other_api.get(f"bank_connections/{created['id']}"),
        other_api.delete(f"bank_connections/{created['id']}"),
        other_api.post(f"bank_connections/{created['id']}/refresh"),
    ):
        assert_error(response, 404)
    assert other_api.get("bank_connections").json["data"] == []


def test_bank_connection_scopes_guard_the_endpoints(make_tenant, app, gocardless):
    from tests.helpers import ApiClient

    reader = make_tenant("Reader Ltd", scopes=["bank_connections:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.get("bank_connections").status_code == 200
    assert_error(
        client.post("bank_connections", json={"institution_id": SANDBOX, "redirect_url": REDIRECT}),
        403,
    )


def test_a_tenants_own_provider_credentials_are_checked_stored_masked_and_kept_apart(
    api, other_api, gocardless
):
    assert api.get("integrations/gocardless").json["source"] == "platform"
    wrong = api.request(
        "PUT", "integrations/gocardless", json={"secret_id": "nope", "secret_key": "wrong-key"}
    )
    assert assert_error(wrong, 400)["code"] == "credentials_refused"
    assert_error(
        api.request("PUT", "integrations/gocardless", json={"secret_id": "only-one"}),
        400,
        param="secret_key",
    )
    right = api.request(
        "PUT",
        "integrations/gocardless",
        json={"secret_id": gocardless.secret_id, "secret_key": gocardless.secret_key},
    )
    assert right.status_code == 200
    assert right.json["source"] == "tenant"
    assert right.json["credentials"] == {
        "secret_id": "…" + gocardless.secret_id[-4:],
        "secret_key": "…" + gocardless.secret_key[-4:],
    }
    assert gocardless.secret_key not in right.get_data(as_text=True)
    assert other_api.get("integrations/gocardless").json["source"] == "platform"
    assert api.get("institutions?country=GB").status_code == 200  # through its own
    assert api.delete("integrations/gocardless").json["source"] == "platform"
    assert_error(api.get("integrations/nosuchbank"), 404)


def test_a_person_following_the_link_lands_back_on_the_tenants_page_linked(app, api, gocardless):
    """The whole walk over real HTTP, as a browser does it: bank, callback, tenant page."""
    import requests

    from tests.serving import serve

    with serve(app, threaded=False) as origin:
        headers = {"X-API-Key": api.secret}
        created = requests.post(
            f"{origin}/api/v1/bank_connections",
            headers=headers,
            json={"institution_id": SANDBOX, "redirect_url": f"{origin}/healthz"},
            timeout=10,
        ).json()
        landed = requests.get(created["link"], timeout=10)  # follows every redirect
        assert landed.status_code == 200
        assert landed.url.startswith(f"{origin}/healthz?")
        assert query(landed.url) == {"connection_id": created["id"], "status": "linked"}
        # The bank's hops went through Payymo's callback on the way.
        assert any("/bank_connections/callback" in r.url for r in landed.history)
        conn = requests.get(
            f"{origin}/api/v1/bank_connections/{created['id']}", headers=headers, timeout=10
        ).json()
        assert conn["status"] == "linked" and len(conn["accounts"]) == 2


@pytest.mark.postgres
def test_a_sync_that_adds_many_lines_refreshes_the_planner_statistics(
    api, app, tenant, gocardless, session, monkeypatch
):
    monkeypatch.setattr(table_statistics, "MIN_PAGES", 1)  # test tables are small
    monkeypatch.setattr(table_statistics, "GROWTH", 1.0)  # any growth counts
    created, _ = connect(api, app)
    table_statistics.refresh_if_stale(session=session)
    count = "SELECT reltuples FROM pg_class WHERE relname = 'transactions'"
    before = session.scalar(text(count))
    gocardless.add_lines(MAIN_IBAN, booked=[_line(f"STATS-{n}") for n in range(300)])
    sync(tenant, created["id"])
    assert session.scalar(text(count)) >= before + 300
