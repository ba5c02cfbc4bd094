"""Incremental runs decide exactly what full runs decide, whatever happened in between.

Two tenants get the same generated story, step by step, through the API: invoices
created (one, or several of one customer), edited and voided; credits imported, one or
several at a time (paying by reference, by amount, by name, in instalments, or nothing
at all); matches made and reversed by hand; suggestions accepted (payer memory learns)
and rejected (the pair is blocked); the tolerance changed; a full run asked for. After
every step one tenant is reconciled by a full run and the other by an incremental one
(or a full one, when asked), and their matches, suggestions (with their history),
credits and invoices must be the same; so must each tenant's customers of a name key
(``reconcile_name_customers``) and what its key and item rows say.

Each run draws 25 fresh stories (hypothesis's random seed); ``EQUIV_EXAMPLES=500`` looks
harder.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from payymo import db
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import (
    Allocation,
    Invoice,
    Job,
    Match,
    ReconcileItem,
    ReconcileKey,
    ReconcileNameCustomer,
    Suggestion,
    Transaction,
)
from payymo.models.reconcile_index import INVOICE
from payymo.services.reconciliation.run import run_reconciliation
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient

CUSTOMERS = ["Acme Trading GmbH", "Acme Tools Ltd", "Initech BV", "Globex Corp", "Umbrella Plc"]
PAYERS = [*CUSTOMERS, "ACME TRADING", "Initech B.V.", "Stranger Things Inc", "Refund Desk"]
IBANS = [None, "DE89370400440532013000", "GB29NWBK60161331926819"]
AMOUNTS = [1_000, 2_500, 5_000, 7_500, 12_300]
DAY = dt.date(2026, 11, 1)

invoice_op = st.tuples(
    st.just("invoice"),
    st.integers(0, len(CUSTOMERS) - 1),
    st.integers(1, 9),
    st.sampled_from(AMOUNTS),
    st.integers(0, 40),
)
edit_op = st.tuples(
    st.just("edit"),
    st.integers(0, 50),
    st.sampled_from(["amount", "number", "customer"]),
    st.integers(0, 9),
)
credit_op = st.tuples(
    st.just("credit"),
    st.integers(0, len(PAYERS) - 1),
    st.integers(0, len(IBANS) - 1),
    st.sampled_from([*AMOUNTS, 3_500, 6_000, 9_800, 12_299]),
    st.sampled_from(["", "ref", "two refs", "bare", "thanks"]),
    st.integers(1, 9),
    st.integers(0, 40),
)
# Several credits in one import (decided in one run, where a later automatic match can
# take an invoice an earlier credit's suggestion named) and several invoices of one
# customer (pools large enough for three suggestions).
batch_op = st.tuples(st.just("batch"), st.lists(credit_op, min_size=2, max_size=4))
invoices_op = st.tuples(
    st.just("invoices"),
    st.integers(0, len(CUSTOMERS) - 1),
    st.lists(
        st.tuples(st.integers(1, 9), st.sampled_from(AMOUNTS), st.integers(0, 40)),
        min_size=2,
        max_size=5,
    ),
)
# Two credits of one import from an invoice's customer, for its amount: the first names
# no invoice (suggestions from the customer's pool), the second pays it by reference.
rivals_op = st.tuples(st.just("rivals"), st.integers(0, 50), st.booleans())
person_op = st.tuples(
    st.sampled_from(["match", "reverse", "accept", "reject", "void"]),
    st.integers(0, 50),
    st.integers(0, 50),
)
tolerance_op = st.tuples(st.just("tolerance"), st.sampled_from([0, 50, 200]))
# The incremental tenant's next run is a full one (its writes are its own, too).
full_run_op = st.just(("full run",))
story = st.lists(
    st.one_of(
        invoice_op, invoices_op, credit_op, credit_op, batch_op, rivals_op, edit_op, person_op
    )
    | tolerance_op
    | full_run_op,
    min_size=4,
    max_size=14,
)


class World:
    """One tenant's side of the story, with its rows labelled in the order they came."""

    def __init__(self, app, handle, *, full: bool):
        self.api = ApiClient(app.test_client(), handle.secret)
        self.tenant_id = handle.tenant_id
        self.full = full
        self.full_next = False
        self.invoices: list[str] = []
        self.specs: list[tuple[int, int, int]] = []  # each invoice's customer, number, amount
        self.credits: list[str] = []
        self.lines = itertools.count()
        with tenant_scope(self.tenant_id):
            # A run already queued: the API's own run requests join it, so only the
            # test's runs happen, each after one step.
            db.session.add(
                Job(id=new_id("job"), type="reconcile", status="queued", created_at=utcnow())
            )
            db.session.commit()
        account = self.api.post("bank_accounts", json={"name": "Main", "currency": "EUR"})
        self.account = account.get_json()["id"]

    def ok(self, response, *codes):
        assert response.status_code in (codes or (200, 201)), response.get_json()
        return response.get_json()

    def run(self) -> None:
        with tenant_scope(self.tenant_id):
            run_reconciliation(session=db.session, full=self.full or self.full_next)
        self.full_next = False

    def step(self, op) -> None:
        kind = op[0]
        if kind == "invoice":
            _, who, number, amount, day = op
            self._invoice(who, number, amount, day)
        elif kind == "invoices":
            _, who, specs = op
            for number, amount, day in specs:
                self._invoice(who, number, amount, day)
        elif kind == "edit":
            _, which, field, value = op
            if not self.invoices:
                return
            invoice = self.invoices[which % len(self.invoices)]
            change = {
                "amount": {"amount_due": AMOUNTS[value % len(AMOUNTS)]},
                "number": {"number": f"INV-{value:04d}"},
                "customer": {"customer_name": CUSTOMERS[value % len(CUSTOMERS)]},
            }[field]
            # An edit that no longer fits (amount below what is paid) is refused alike.
            self.api.patch(f"invoices/{invoice}", json=change)
        elif kind in ("credit", "batch", "rivals"):
            if kind == "rivals":
                if not self.specs:
                    return
                who, number, amount = self.specs[op[1] % len(self.specs)]
                payer = PAYERS.index(CUSTOMERS[who])
                credits = [
                    ("credit", payer, 0, amount, "" if op[2] else "thanks", 1, 40),
                    ("credit", payer, 0, amount, "ref", number, 40),
                ]
            else:
                credits = op[1] if kind == "batch" else [op]
            lines = [self._line(credit) for credit in credits]
            body = {"account_id": self.account, "transactions": lines}
            results = self.ok(self.api.post("transactions/import", json=body))["results"]
            self.credits += [result["id"] for result in results]
        elif kind == "full run":
            self.full_next = True
        elif kind == "tolerance":
            self.ok(self.api.patch("tenant", json={"settings": {"overpayment_tolerance": op[1]}}))
        else:
            self._person(op)

    def _invoice(self, who: int, number: int, amount: int, day: int) -> None:
        body = {
            "external_id": f"E{len(self.invoices)}",
            "number": f"INV-{number:04d}",
            "customer_name": CUSTOMERS[who],
            "amount_due": amount,
            "currency": "EUR",
            "issue_date": str(DAY + dt.timedelta(days=day)),
            "due_date": str(DAY + dt.timedelta(days=day + 14)),
        }
        self.invoices.append(self.ok(self.api.post("invoices", json=body), 201)["id"])
        self.specs.append((who, number, amount))

    def _line(self, op) -> dict:
        _, payer, iban, amount, text, number, day = op
        remittance = {
            "": "",
            "ref": f"INV-{number:04d}",
            "two refs": f"Invoices INV-{number:04d} and INV-{(number % 9) + 1:04d}",
            "bare": f"{number:04d}",
            "thanks": "thank you",
        }[text]
        line = {
            "id": f"line-{next(self.lines)}",
            "booking_date": str(DAY + dt.timedelta(days=day)),
            "amount": amount,
            "currency": "EUR",
            "counterparty_name": PAYERS[payer],
            "remittance_information": remittance,
        }
        if IBANS[iban]:
            line["counterparty_iban"] = IBANS[iban]
        return line

    def _person(self, op) -> None:
        kind, a, b = op
        if kind == "void" and self.invoices:
            self.api.post(f"invoices/{self.invoices[a % len(self.invoices)]}/void")
        elif kind == "match" and self.credits and self.invoices:
            txn = self.ok(self.api.get(f"transactions/{self.credits[a % len(self.credits)]}"))
            invoice = self.ok(self.api.get(f"invoices/{self.invoices[b % len(self.invoices)]}"))
            amount = min(txn["amount"] - txn["amount_allocated"], invoice["amount_remaining"])
            if amount > 0 and txn["match_status"] != "ignored":
                body = {
                    "transaction_id": txn["id"],
                    "allocations": [{"invoice_id": invoice["id"], "amount": amount}],
                }
                self.api.post("reconciliation/matches", json=body)
        elif kind == "reverse":
            live = self.ok(self.api.get("reconciliation/matches?status=active&limit=100"))["data"]
            live.sort(key=lambda m: (self.credits.index(m["transaction_id"]), m["amount"]))
            if live:
                self.api.delete(f"reconciliation/matches/{live[a % len(live)]['id']}")
        elif kind in ("accept", "reject") and self.credits:
            txn = self.credits[a % len(self.credits)]
            open_ = self.ok(
                self.api.get(f"reconciliation/suggestions?transaction_id={txn}&status=open")
            )
            ranked = sorted(open_["data"], key=lambda s: s["rank"])
            if ranked:
                self.api.post(f"reconciliation/suggestions/{ranked[0]['id']}/{kind}")

    def state(self) -> dict:
        """Everything a run decides, in the world's own labels (never its ids)."""
        inv = {i: f"i{n}" for n, i in enumerate(self.invoices)}
        txn = {t: f"c{n}" for n, t in enumerate(self.credits)}
        session = db.session
        session.expire_all()
        with tenant_scope(self.tenant_id):
            allocations: dict[str, list] = {}
            for a in session.scalars(select(Allocation)):
                allocations.setdefault(a.match_id, []).append(
                    (inv[a.invoice_id], a.amount, a.charge)
                )
            matches = sorted(
                (txn[m.transaction_id], m.method, m.status, m.amount, m.confidence,
                 tuple(sorted(allocations.get(m.id, []))))
                for m in session.scalars(select(Match))
            )  # fmt: skip
            suggestions = sorted(
                (txn[s.transaction_id], s.status, s.rank, s.confidence,
                 tuple((inv[line["invoice_id"]], line["amount"], line.get("charge", 0))
                       for line in s.allocations),
                 tuple(r["code"] for r in s.reasons))
                for s in session.scalars(select(Suggestion))
            )  # fmt: skip
            credits = sorted(
                (txn[t.id], t.match_status, t.amount_allocated)
                for t in session.scalars(select(Transaction))
                if t.id in txn
            )
            invoices = sorted(
                (inv[i.id], i.status, i.amount_paid, i.amount_charged)
                for i in session.scalars(select(Invoice))
            )
        return {
            "matches": matches,
            "suggestions": suggestions,
            "credits": credits,
            "invoices": invoices,
        }

    def name_customers(self) -> tuple[list, list]:
        """The customers of each name key as kept, and as the key and item rows say."""
        session = db.session
        k, i, m = ReconcileKey, ReconcileItem, ReconcileNameCustomer
        with tenant_scope(self.tenant_id):
            kept = session.execute(select(m.key, m.customer, m.invoices)).all()
            counted = session.execute(
                select(k.key, i.customer, func.count())
                .join(i, (i.side == k.side) & (i.object_id == k.object_id))
                .where(k.side == INVOICE, k.key.like("n:%") | k.key.like("w:%"))
                .group_by(k.key, i.customer)
            ).all()
        return sorted(map(tuple, kept)), sorted(map(tuple, counted))


@pytest.fixture
def worlds(app, make_tenant):
    counter = itertools.count()

    def pair():
        n = next(counter)
        full = World(app, make_tenant(f"Full {n}"), full=True)
        incremental = World(app, make_tenant(f"Incremental {n}"), full=False)
        return full, incremental

    return pair


@settings(
    max_examples=int(os.environ.get("EQUIV_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=story)
def test_incremental_runs_decide_what_full_runs_decide(worlds, steps):
    full, incremental = worlds()
    for number, op in enumerate(steps):
        for world in (full, incremental):
            world.step(op)
            world.run()
        assert incremental.state() == full.state(), f"after step {number}: {op}"
        for world in (full, incremental):
            kept, counted = world.name_customers()
            assert kept == counted, f"after step {number}: {op}"
