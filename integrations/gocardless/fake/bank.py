"""The fake's banks: institutions, accounts keyed by IBAN, and generated statements."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from dataclasses import dataclass, field

SANDBOX = "SANDBOXFINANCE_SFIN0000"

INSTITUTIONS = [
    {
        "id": SANDBOX,
        "name": "Sandbox Finance",
        "bic": "SFIN0000",
        "transaction_total_days": "90",
        "max_access_valid_for_days": "90",
        "countries": ["GB", "DE", "FR", "NL", "ES", "IE"],
        "logo": "https://cdn.nordigen.com/ais/SANDBOXFINANCE_SFIN0000.png",
    },
    {
        "id": "REVOLUT_REVOGB21",
        "name": "Revolut",
        "bic": "REVOGB21",
        "transaction_total_days": "730",
        "max_access_valid_for_days": "180",
        "countries": ["GB"],
        "logo": "https://cdn.nordigen.com/ais/REVOLUT_REVOGB21.png",
    },
    {
        "id": "MONZO_MONZGB2L",
        "name": "Monzo",
        "bic": "MONZGB2L",
        "transaction_total_days": "540",
        "max_access_valid_for_days": "90",
        "countries": ["GB"],
        "logo": "https://cdn.nordigen.com/ais/MONZO_MONZGB2L.png",
    },
]


@dataclass
class BankAccount:
    """An account at a bank: what every consent to it sees, under a new id each time."""

    iban: str
    currency: str
    owner: str
    name: str
    booked: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)
    balance: str = "1913.12"
    # Serialised statement, kept while the lines do not change (large statements).
    cache: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def changed(self) -> None:
        """Forget the cached answers."""
        self.cache.clear()


def sandbox_accounts(today: dt.date) -> list[BankAccount]:
    """The sandbox bank's two accounts, with a few realistic lines."""
    main = BankAccount("GB33BUKB20201555555555", "GBP", "Demo Ltd", "Main account")
    savings = BankAccount("GB94BARC10201530093459", "GBP", "Demo Ltd", "Savings")

    def day(n):
        return (today - dt.timedelta(days=n)).isoformat()

    main.booked = [
        booked(
            "SB-1",
            "1200.00",
            "GBP",
            day(6),
            "INITECH LTD",
            "INV-1001",
            iban="GB29NWBK60161331926819",
        ),
        booked("SB-2", "450.50", "GBP", day(5), "GLOBEX CORPORATION", "Payment INV-1002 thank you"),
        booked("SB-3", "-43.20", "GBP", day(4), "Amazon Web Services", "AWS monthly bill"),
        booked("SB-4", "99.99", "GBP", day(2), "UMBRELLA TRADING", "INV-1003"),
    ]
    main.pending = [pending("-9.50", "GBP", day(0), "Pret A Manger", "Card payment")]
    savings.booked = [booked("SB-5", "1.12", "GBP", day(3), "Sandbox Finance", "Interest")]
    return [main, savings]


def booked(tid, amount, currency, day, party, text, *, iban=None) -> dict:
    """A booked line as GoCardless sends it."""
    side = "debtor" if not amount.startswith("-") else "creditor"
    item = {
        "transactionId": tid,
        "internalTransactionId": uuid.uuid5(uuid.NAMESPACE_URL, tid).hex,
        "bookingDate": day,
        "valueDate": day,
        "transactionAmount": {"amount": amount, "currency": currency},
        f"{side}Name": party,
        "remittanceInformationUnstructured": text,
        "bankTransactionCode": "PMNT",
    }
    if iban:
        item[f"{side}Account"] = {"iban": iban}
    return item


def pending(amount, currency, day, party, text) -> dict:
    """A pending line: no id at all, as many banks send them."""
    side = "debtor" if not amount.startswith("-") else "creditor"
    return {
        "valueDate": day,
        "transactionAmount": {"amount": amount, "currency": currency},
        f"{side}Name": party,
        "remittanceInformationUnstructured": text,
    }


def generate_statement(
    *,
    count: int,
    end: dt.date,
    days: int = 30,
    seed: int = 1,
    currency: str = "EUR",
    credit_share: float = 0.3,
    invoice_refs: list[tuple[str, str, str]] | None = None,
    prefix: str = "GEN",
) -> list[dict]:
    """``count`` booked lines over ``days`` days up to ``end``, the same for the same seed.

    Credits pay ``invoice_refs`` (number, amount, customer) in order while they last,
    then are unrelated; debits are card payments and bills.
    """
    rnd = random.Random(seed)
    refs = list(invoice_refs or [])
    lines = []
    for i in range(count):
        day = (end - dt.timedelta(days=rnd.randrange(days))).isoformat()
        tid = f"{prefix}-{seed}-{i:08d}"
        if rnd.random() < credit_share:
            if refs:
                number, amount, customer = refs.pop()
                text = f"Payment {number}"
            else:
                amount, customer = f"{rnd.randint(100, 500000) / 100:.2f}", "Some Payer Ltd"
                text = f"Transfer {rnd.randint(1000, 9999)}"
            lines.append(booked(tid, amount, currency, day, customer, text))
        else:
            amount = f"-{rnd.randint(100, 90000) / 100:.2f}"
            shop = rnd.choice(("Tesco", "Shell", "AWS", "Office Depot", "Uber", "Vodafone"))
            lines.append(booked(tid, amount, currency, day, shop, f"Card payment {shop}"))
    return lines
