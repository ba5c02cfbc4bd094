"""Rollups stay exact: after any mix of writes, every group equals a recount of the rows."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from payymo import db
from payymo.models import Invoice, Match, RollupDelta, Suggestion, Transaction
from payymo.services.reconciliation import summary as reconciliation_summary
from payymo.services.rollups import upkeep
from payymo.services.transactions import transaction_stats
from payymo.tenancy import system_scope, tenant_scope
from tasks.reconcile import reconcile_tenant
from tests.helpers import ApiClient, invoice_body

START = dt.date(2026, 10, 20)


def _ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.json


def _account(api, currency: str = "EUR") -> str:
    return _ok(api.post("bank_accounts", json={"name": currency, "currency": currency}), 201)["id"]


def _line(rng: random.Random, n: int, currency: str, paying: dict | None) -> dict:
    amount = rng.choice([rng.randint(-90_000, -1), rng.randint(1, 90_000), 0])
    if paying is not None and paying["currency"] == currency and rng.random() < 0.8:
        amount = paying["amount_due"] if rng.random() < 0.7 else paying["amount_due"] // 2 or 1
    return {
        "id": f"line-{n}",
        "amount": amount,
        "currency": currency,
        "counterparty_name": rng.choice(["Initech", "Hooli", "Globex", None]),
        "remittance_information": f"Payment {paying['number']}" if paying else "misc",
        "booking_date": (START + dt.timedelta(days=rng.randint(0, 100))).isoformat(),
    }


def _random_writes(api, tenant_id: str, rng: random.Random, steps: int) -> None:
    """Imports, invoices, engine runs, matches by hand, reversals, ignores, voids, rejects."""
    accounts = {"EUR": _account(api), "GBP": _account(api, "GBP")}
    invoices, lines = [], 0
    for step in range(steps):
        action = rng.choice(
            ["import", "import", "invoice", "run", "match", "reverse", "ignore", "void", "reject"]
        )
        if action == "invoice" or len(invoices) < 3:
            currency = rng.choice(["EUR", "GBP"])
            body = invoice_body(
                f"ERP-{step}",
                number=f"INV-{step:04d}",
                currency=currency,
                amount_due=rng.randint(1, 50_000),
            )
            invoices.append(_ok(api.post("invoices", json=body), 201))
        elif action == "import":
            currency = rng.choice(["EUR", "GBP"])
            batch = []
            for _ in range(rng.randint(1, 8)):
                lines += 1
                paying = rng.choice([*invoices, None])
                batch.append(_line(rng, lines, currency, paying))
            body = {"account_id": accounts[currency], "transactions": batch}
            _ok(api.post("transactions/import", json=body))
        elif action == "run":
            reconcile_tenant(tenant_id, _ok(api.post("reconciliation/run"), 202)["id"])
        elif action == "match":
            credits = [
                c
                for c in _ok(api.get("transactions", query_string={"limit": 100}))["data"]
                if c["amount"] > 0 and c["match_status"] in ("unmatched", "suggested")
            ]
            if credits:
                credit = rng.choice(credits)
                fitting = [
                    i
                    for i in invoices
                    if i["currency"] == credit["currency"] and i["status"] in ("open",)
                ]
                if fitting:
                    invoice = rng.choice(fitting)
                    amount = min(credit["amount"], invoice["amount_due"])
                    body = {
                        "transaction_id": credit["id"],
                        "allocations": [{"invoice_id": invoice["id"], "amount": amount}],
                    }
                    _ok(api.post("reconciliation/matches", json=body), 201)
        elif action == "reverse":
            active = _ok(api.get("reconciliation/matches", query_string={"status": "active"}))
            if active["data"]:
                api.delete(f"reconciliation/matches/{rng.choice(active['data'])['id']}")
        elif action == "ignore":
            found = _ok(api.get("transactions"))["data"]
            if found:
                pick = rng.choice(found)
                api.patch(f"transactions/{pick['id']}", json={"ignored": rng.random() > 0.3})
        elif action == "void":
            open_ones = [i for i in invoices if i["status"] == "open"]
            if open_ones:
                api.post(f"invoices/{rng.choice(open_ones)['id']}/void")
        elif action == "reject":
            found = _ok(api.get("reconciliation/suggestions", query_string={"status": "open"}))
            if found["data"]:
                api.post(f"reconciliation/suggestions/{rng.choice(found['data'])['id']}/reject")
        invoices = [_ok(api.get(f"invoices/{i['id']}")) for i in invoices]
    # However the dice fell, end with a credit the engine matches to its invoice.
    last = _ok(api.post("invoices", json=invoice_body("ERP-last", number="INV-LAST")), 201)
    line = _line(rng, lines + 1, "EUR", None) | {
        "amount": last["amount_due"],
        "remittance_information": "Payment INV-LAST",
        "counterparty_name": "Initech BV",
    }
    body = {"account_id": accounts["EUR"], "transactions": [line]}
    [created] = _ok(api.post("transactions/import", json=body))["results"]
    reconcile_tenant(tenant_id, _ok(api.post("reconciliation/run"), 202)["id"])
    open_ones = _ok(api.get("reconciliation/suggestions", query_string={"status": "open"}))
    for suggestion in open_ones["data"]:
        if suggestion["transaction_id"] == created["id"]:
            _ok(api.post(f"reconciliation/suggestions/{suggestion['id']}/accept"))
            break  # its other suggestions expire with it


def _differences(session, tenant_id: str | None = None):
    with system_scope():
        return upkeep.check(session=session, tenant_id=tenant_id)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_mix_of_writes_leaves_every_group_equal_to_its_rows(api, tenant, session, seed):
    _random_writes(api, tenant.tenant_id, random.Random(seed), steps=40)
    with tenant_scope(tenant.tenant_id):
        assert session.scalar(select(func.count(Transaction.id))) > 0
        assert session.scalar(select(func.count(Match.id))) > 0
    assert _differences(session) == []
    # Folding (PostgreSQL) moves every delta into the rollups and changes no total.
    with system_scope():
        upkeep.fold(session=session)
        assert _differences(session) == []
        assert session.scalar(select(func.count()).select_from(RollupDelta)) == 0


def _brute_stats(rows: list[Transaction], filters: dict) -> dict:
    """What /transactions/stats must say, counted in Python from the lines."""
    start, end = filters.get("booking_date_from"), filters.get("booking_date_to")
    kept = []
    for row in rows:
        if start and (row.booking_date is None or row.booking_date < start):
            continue
        if end and (row.booking_date is None or row.booking_date > end):
            continue
        if filters.get("match_status") and row.match_status != filters["match_status"]:
            continue
        if filters.get("currency") and row.currency != filters["currency"]:
            continue
        direction = "out" if row.amount < 0 else "in"
        if filters.get("direction") and direction != filters["direction"]:
            continue
        kept.append((row, direction))
    by_month = defaultdict(Counter)
    for row, direction in kept:
        label = row.booking_date.strftime("%Y-%m") if row.booking_date else None
        by_month[(label or "", row.currency)].update(count=1, amount=row.amount)
        by_month[(label or "", row.currency)][f"amount_{direction}"] += row.amount
    return {
        "count": len(kept),
        "by_month": {
            key: (c["count"], c["amount"], c["amount_in"], c["amount_out"])
            for key, c in by_month.items()
        },
    }


def test_stats_from_rollups_equal_a_recount_under_any_filter(api, tenant, session):
    rng = random.Random(11)
    _random_writes(api, tenant.tenant_id, rng, steps=30)
    with tenant_scope(tenant.tenant_id):
        rows = session.scalars(select(Transaction)).all()
        for _ in range(40):
            filters = {}
            if rng.random() < 0.7:
                filters["booking_date_from"] = START + dt.timedelta(days=rng.randint(-5, 90))
            if rng.random() < 0.7:
                low = filters.get("booking_date_from", START)
                filters["booking_date_to"] = low + dt.timedelta(days=rng.randint(0, 70))
            if rng.random() < 0.3:
                filters["match_status"] = rng.choice(["unmatched", "matched", "ignored"])
            if rng.random() < 0.3:
                filters["currency"] = rng.choice(["EUR", "GBP"])
            if rng.random() < 0.3:
                filters["direction"] = rng.choice(["in", "out"])
            got = transaction_stats(session=session, filters=filters)
            want = _brute_stats(rows, filters)
            assert got["count"] == want["count"], filters
            months = {
                (m["month"] or "", m["currency"]): (
                    m["count"],
                    m["amount"],
                    m["amount_in"],
                    m["amount_out"],
                )
                for m in got["by_month"]
            }
            assert months == want["by_month"], filters


def test_the_summary_equals_a_recount(api, tenant, session):
    _random_writes(api, tenant.tenant_id, random.Random(5), steps=40)
    with tenant_scope(tenant.tenant_id):
        got = reconciliation_summary.summary(session=session)
        credits = session.scalars(select(Transaction).where(Transaction.amount > 0)).all()
        matches = session.scalars(select(Match)).all()
        invoices = session.scalars(select(Invoice)).all()
        suggestions = session.scalars(select(Suggestion)).all()
    assert got["credit_count"] == len(credits)
    for row in got["credits"]:
        mine = [c for c in credits if c.currency == row["currency"]]
        assert row["amount"] == sum(c.amount for c in mine)
        assert row["amount_allocated"] == sum(c.amount_allocated for c in mine)
        for status in ("unmatched", "matched", "ignored"):
            assert row[status]["count"] == sum(c.match_status == status for c in mine)
    active = [m for m in matches if m.status == "active"]
    assert got["matches"]["active"] == len(active)
    assert got["matches"]["manual"] == sum(m.method == "manual" for m in active)
    auto_credits = {m.transaction_id for m in active if m.method == "auto"}
    matchable = sum(c.match_status != "ignored" for c in credits)
    expected_rate = round(len(auto_credits) / matchable, 4) if matchable else None
    assert got["auto_matched_credit_rate"] == expected_rate
    assert got["open_suggestions"] == sum(s.status == "open" for s in suggestions)
    open_invoices = [i for i in invoices if i.status in ("open", "partially_paid")]
    assert got["open_invoice_count"] == len(open_invoices)
    for row in got["open_invoices"]:
        assert row["amount_remaining"] == sum(
            i.amount_due - i.amount_paid - i.amount_charged
            for i in open_invoices
            if i.currency == row["currency"]
        )


@pytest.mark.rollups_drift
def test_check_finds_a_group_that_drifted(api, tenant, session):
    _random_writes(api, tenant.tenant_id, random.Random(3), steps=10)
    assert _differences(session) == []
    with system_scope():
        upkeep.fold(session=session)  # on PostgreSQL the groups are still deltas until now
        session.execute(
            text(
                "UPDATE rollups SET item_count = item_count + 1 WHERE id = "
                "(SELECT MIN(id) FROM rollups WHERE tenant_id = :t)"
            ),
            {"t": tenant.tenant_id},
        )
    [drift] = _differences(session, tenant.tenant_id)
    assert drift.found["item_count"] == drift.expected["item_count"] + 1
    assert drift.group["tenant_id"] == tenant.tenant_id


def test_another_tenants_stats_and_summary_show_none_of_these_rows(api, other_api, tenant):
    _random_writes(api, tenant.tenant_id, random.Random(8), steps=12)
    stats = _ok(other_api.get("transactions/stats"))
    assert stats["count"] == 0 and stats["by_month"] == []
    summary = _ok(other_api.get("reconciliation"))
    assert summary["credit_count"] == 0 and summary["matches"]["active"] == 0


# --- concurrent writers on PostgreSQL: real commits, so no savepoint fixture ---------------


@pytest.mark.postgres
def test_concurrent_imports_matches_reversals_and_folds_keep_rollups_exact(
    app, committed_tenant, request
):
    assert "connection" not in request.fixturenames  # real transactions, really concurrent
    tenant_id, secret = committed_tenant
    setup = ApiClient(app.test_client(), secret)
    account = _account(setup)
    invoices = [
        _ok(setup.post("invoices", json=invoice_body(f"E-{n}", number=f"INV-{n}")), 201)
        for n in range(6)
    ]
    stop = threading.Event()
    failures: list[str] = []

    def importer(worker: int) -> None:
        client = ApiClient(app.test_client(), secret)
        for batch in range(12):
            lines = [
                {
                    "id": f"w{worker}-{batch}-{n}",
                    "amount": (n % 3 - 1) * 1_000 + 12_300 * (n % 2),
                    "currency": "EUR",
                    "booking_date": f"2026-{10 + n % 2:02d}-{10 + n:02d}",
                    "remittance_information": f"INV-{n % 6}",
                }
                for n in range(10)
            ]
            got = client.post(
                "transactions/import", json={"account_id": account, "transactions": lines}
            )
            if got.status_code != 200:
                failures.append(f"import {got.status_code} {got.get_data(as_text=True)[:200]}")

    def matcher() -> None:
        client = ApiClient(app.test_client(), secret)
        rng = random.Random(4)
        for _ in range(30):
            found = client.get("transactions", query_string={"match_status": "unmatched"}).json
            credits = [c for c in found.get("data", []) if c["amount"] > 0]
            if not credits:
                continue
            credit = rng.choice(credits)
            invoice = rng.choice(invoices)
            body = {
                "transaction_id": credit["id"],
                "allocations": [
                    {"invoice_id": invoice["id"], "amount": min(credit["amount"], 100)}
                ],
            }
            made = client.post("reconciliation/matches", json=body)
            if made.status_code == 201 and rng.random() < 0.5:
                client.delete(f"reconciliation/matches/{made.json['id']}")

    def folder() -> None:
        while not stop.is_set():
            with Session(db.engine()) as session, system_scope():
                upkeep.fold(session=session, batch=7)
                session.commit()

    workers = [threading.Thread(target=importer, args=(n,)) for n in range(2)]
    workers += [threading.Thread(target=matcher) for _ in range(2)]
    fold_thread = threading.Thread(target=folder)
    fold_thread.start()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    stop.set()
    fold_thread.join(timeout=30)
    assert not failures, failures
    with Session(db.engine()) as session:
        with tenant_scope(tenant_id):
            assert session.scalar(select(func.count(Match.id))) > 0
        assert _differences(session, tenant_id) == []
        with system_scope():
            upkeep.fold(session=session)
            session.commit()
        assert _differences(session, tenant_id) == []
