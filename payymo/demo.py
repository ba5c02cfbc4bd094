"""The demo tenant's sample data: invoices and a statement, some lines paying invoices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import ApiKey, Partner

DEMO_TENANT = "Demo Ltd"
DEMO_KEY_NAME = "demo"

# (number, customer, email, amount due in pence, days ago issued)
DEMO_INVOICES = (
    ("INV-1001", "Initech Ltd", "ap@initech.example", 120_000, 52),
    ("INV-1002", "Globex Corporation", "finance@globex.example", 45_050, 47),
    ("INV-1003", "Umbrella Trading", "accounts@umbrella.example", 9_999, 41),
    ("INV-1004", "Stark Supplies", "billing@stark.example", 250_000, 36),
    ("INV-1005", "Wayne Logistics", "ap@wayne.example", 78_420, 30),
    ("INV-1006", "Acme Widgets", "payables@acme.example", 15_000, 24),
    ("INV-1007", "Hooli UK", "invoices@hooli.example", 330_000, 18),
    ("INV-1008", "Soylent Foods", "ap@soylent.example", 6_480, 12),
    ("INV-1009", "Cyberdyne Systems", "finance@cyberdyne.example", 99_000, 7),
    ("INV-1010", "Tyrell Partners", "ap@tyrell.example", 41_200, 10),
    ("INV-1011", "Tyrell Partners", "ap@tyrell.example", 41_200, 3),
    ("INV-1012", "Acme Widgets", "payables@acme.example", 60_000, 20),
)
# (days ago booked, amount in pence (negative = out), counterparty, remittance text).
# What the first run leaves, which README's walkthrough follows (tests/test_demo.py):
DEMO_TRANSACTIONS = (
    # matched automatically: the invoice's number and its exact amount
    (45, 120_000, "INITECH LTD", "INV-1001"),
    (40, 45_050, "GLOBEX CORPORATION", "Payment INV-1002 thank you"),
    (29, 250_000, "STARK SUPPLIES", "INV-1004"),
    # one payment of two invoices, both named
    (14, 75_000, "ACME WIDGETS", "INV-1006 INV-1012"),
    # a partial payment, named: INV-1005 stays partially paid
    (17, 40_000, "WAYNE LOGISTICS", "Part payment INV-1005"),
    # suggestions to accept or reject: no reference (amount and payer only) ...
    (8, 6_480, "SOYLENT FOODS", "Payment"),
    # ... a near-miss reference (INV-1008 is Soylent's; Cyberdyne owes 990.00 on INV-1009)
    (4, 99_000, "CYBERDYNE SYSTEMS", "Invoice INV-1008"),
    # ... and two invoices of one amount from one customer: which one is it?
    (2, 41_200, "TYRELL PARTNERS", "Monthly payment"),
    # unrelated money in: nothing to match
    (5, 2_150, "Stationery Direct", "Refund order 5531"),
    # money out
    (33, -185_000, "Northside Properties", "Office rent"),
    (21, -4_320, "Amazon Web Services", "AWS monthly bill"),
    (9, -950, "Pret A Manger", "Card payment"),
    (1, -62_000, "HMRC", "VAT Q3"),
)


def seed_demo(*, session: Session) -> None:
    """Twelve invoices, a manual account and thirteen statement lines (see DEMO_TRANSACTIONS)."""
    from payymo.services import bank_accounts, invoices, transactions

    today = dt.date.today()
    for number, customer, email, amount, age in DEMO_INVOICES:
        issued = today - dt.timedelta(days=age)
        invoices.create_invoice(
            session=session,
            data={
                "external_id": f"demo-{number}",
                "number": number,
                "customer_name": customer,
                "customer_email": email,
                "amount_due": amount,
                "currency": "GBP",
                "issue_date": issued,
                "due_date": issued + dt.timedelta(days=30),
            },
        )
    account = bank_accounts.create_bank_account(
        session=session,
        data={"name": "Demo Business Current", "currency": "GBP", "iban": "GB33BUKB20201555555555"},
    )
    rows = [
        (
            index,
            {
                "id": f"demo-{index + 1:02d}",
                "status": "booked",
                "booking_date": today - dt.timedelta(days=age),
                "value_date": today - dt.timedelta(days=age),
                "amount": amount,
                "currency": "GBP",
                "counterparty_name": counterparty,
                "remittance_information": text,
            },
        )
        for index, (age, amount, counterparty, text) in enumerate(DEMO_TRANSACTIONS)
    ]
    transactions.import_transactions(session=session, account_id=account.id, rows=rows)


def replace_demo_key(*, session: Session) -> tuple[ApiKey, str, list[str]]:
    """Revoke the demo tenant's live demo keys and mint one new one: (key, secret, revoked ids).

    Runs in the caller's transaction, so a failure leaves the old key working.
    """
    from payymo.services import api_keys

    previous = session.scalars(
        select(ApiKey)
        .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id)
        .with_for_update()
    ).all()
    for key in previous:
        api_keys.revoke_key(session=session, key=key)
    key, secret = api_keys.create_key(session=session, name=DEMO_KEY_NAME, capped=False)
    return key, secret, [old.id for old in previous]


DEMO_PARTNER = "Demo Partner"
DEMO_BRANDING = {
    "name": "Demo Partner",
    "logo_url": None,
    "primary_color": "#0b6e4f",
    "support_email": "support@partner.example",
    "custom_domain": None,
}


def demo_portal_link(*, session: Session, tenant) -> tuple[str, str]:
    """The demo partner (made once, owning the demo tenant) and a fresh portal sign-in
    token for the demo tenant: (partner id, token)."""
    from payymo.services.partners.accounts import create_partner
    from payymo.services.partners.portal_links import create_link

    partner = session.scalars(
        select(Partner).where(Partner.name == DEMO_PARTNER).order_by(Partner.id).limit(1)
    ).one_or_none()
    if partner is None:
        partner, _secret = create_partner(session=session, name=DEMO_PARTNER)
        partner.branding = dict(DEMO_BRANDING)
    if tenant.partner_id is None:
        tenant.partner_id = partner.id
    session.flush()
    _link, token = create_link(
        session=session,
        partner_id=tenant.partner_id,
        tenant_id=tenant.id,
        expires_in=int(dt.timedelta(hours=24).total_seconds()),
    )
    return tenant.partner_id, token
