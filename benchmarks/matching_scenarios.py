"""Payment scenarios for the matching benchmark: how credits relate to invoices."""

from __future__ import annotations

import datetime as dt

from benchmarks import matching_text as text
from payymo.matching.types import InvoiceIn, TxnIn

SCENARIOS = (
    ("full", 50), ("full_noref", 6), ("customer_ref", 3), ("partial", 5), ("split", 4),
    ("multi", 8), ("overpaid", 3), ("unrelated", 12),
    # issue 10: a slip naming another real invoice, references among other numbers,
    # sole traders whose bank writes their name another way, and bank charges
    ("near_miss", 2), ("buried_ref", 3), ("name_order", 1),
    ("charge", 4),  # an international transfer, short by a bank charge or an FX shortfall
)  # fmt: skip
NEW_CLASSES = ("near_miss", "buried_ref", "name_order", "charge")
PENDING = 0.04
NOREF_TEXTS = ("Payment", "Thank you", "", "Zahlung", "{p} payment", "Order {n}", "Monthly payment")
UNRELATED = ("refund", "interest", "transfer", "payout", "tax", "deposit")


class PaymentBuilder:
    """Appends credits scenario by scenario, recording the truth for each."""

    def __init__(self, rng, invoices: list[InvoiceIn], cust_of: dict, base: dt.date, tol: int):
        self.rng = rng
        self.invoices = invoices
        self.cust_of = cust_of
        self.base = base
        self.tol = tol
        self.used: set[int] = set()
        self.transactions: list[TxnIn] = []
        self.truth: dict[str, frozenset[str]] = {}
        self.kinds: dict[str, str] = {}

    def _add(self, kind, amount, currency, day, payer, iban, remittance, paid, pending_ok=True):
        tid = f"txn_{len(self.transactions):06d}"
        booked = not (pending_ok and self.rng.random() < PENDING)
        self.transactions.append(
            TxnIn(tid, max(1, amount), currency, booked, day, payer, iban, remittance)
        )
        self.truth[tid] = frozenset(self.invoices[k].id for k in paid)
        self.kinds[tid] = kind

    def _take(self, payable: list[int]) -> int | None:
        while payable:
            k = payable.pop()
            if k not in self.used:
                self.used.add(k)
                return k
        return None

    def _payer(self, cust) -> tuple[str, str | None]:
        rng = self.rng
        if cust.parent and rng.random() < 0.5:
            return rng.choice((cust.parent[0], cust.parent[0].upper())), cust.parent[1]
        r = rng.random()
        account = cust.iban if r < 0.8 else text.iban(rng)
        return text.payer_name(rng, cust.name), text.spaced(account) if r < 0.25 else account

    def _day(self, inv: InvoiceIn, shift: int = 0) -> dt.date:
        rng = self.rng
        if rng.random() < 0.04:
            return inv.due_date + dt.timedelta(days=rng.randint(70, 140) + shift)
        day = inv.due_date + dt.timedelta(days=round(rng.gauss(-5, 12)) + shift)
        return max(day, inv.issue_date - dt.timedelta(days=2))

    def _line(self, numbers: list[str], payer: str, day: dt.date, with_ref: bool = True) -> str:
        rng = self.rng
        if not with_ref:
            return rng.choice(NOREF_TEXTS).format(p=payer, n=rng.randint(1000, 99999))
        refs = text.join_refs(rng, numbers) if len(numbers) > 1 else text.reference(rng, numbers[0])
        return text.bury(rng, refs, payer, day)

    def next_scenario(self, payable: list[int], customers: list, limit: int) -> None:
        """Append the credits of one randomly chosen scenario."""
        kind = self.rng.choices([k for k, _ in SCENARIOS], [w for _, w in SCENARIOS])[0]
        if kind == "unrelated":
            self._unrelated(customers)
            return
        k = self._take(payable)
        if k is None:
            self._unrelated(customers)
            return
        getattr(self, "_" + kind)(k)

    def _single(self, kind: str, k: int, amount: int, with_ref: bool = True, line=None) -> None:
        inv, cust = self.invoices[k], self.cust_of[k]
        payer, account = self._payer(cust)
        day = self._day(inv)
        remittance = line or self._line([inv.number], payer, day, with_ref)
        self._add(kind, amount, inv.currency, day, payer, account, remittance, [k])

    def _full(self, k: int) -> None:
        self._single("full", k, self.invoices[k].open_amount)

    def _full_noref(self, k: int) -> None:
        self._single("full_noref", k, self.invoices[k].open_amount, with_ref=False)

    def _customer_ref(self, k: int) -> None:
        cust = self.cust_of[k]
        if not cust.reference:
            return self._full(k)
        forms = ("Customer {c}", "Kundennr. {c}", "Account {c} payment", "{c}")
        line = self.rng.choice(forms).format(c=cust.reference)
        return self._single("customer_ref", k, self.invoices[k].open_amount, line=line)

    def _oldest(self, k: int) -> int:
        """Instalments without a reference go to the customer's oldest open invoice."""
        for j in self.cust_of[k].invoices:
            if j not in self.used:
                self.used.discard(k)
                self.used.add(j)
                return j
            if j == k:
                break
        return k

    def _partial(self, k: int) -> None:
        with_ref = self.rng.random() < 0.92
        k = k if with_ref else self._oldest(k)
        inv = self.invoices[k]
        amount = max(1, round(inv.open_amount * self.rng.uniform(0.2, 0.8)))
        self._single("partial", k, min(amount, inv.open_amount - 1) or 1, with_ref)

    def _overpaid(self, k: int) -> None:
        inv, rng = self.invoices[k], self.rng
        unit = {"JPY": 1, "BHD": 1000}.get(inv.currency, 100)
        extra = rng.randint(1, self.tol) if rng.random() < 0.6 else rng.randint(5, 50) * unit
        self._single("overpaid", k, inv.open_amount + extra, rng.random() < 0.95)

    def _split(self, k: int) -> None:
        rng = self.rng
        with_ref = rng.random() < 0.92
        k = k if with_ref else self._oldest(k)
        inv = self.invoices[k]
        parts = 3 if inv.open_amount > 3 and rng.random() < 0.3 else 2
        if inv.open_amount < parts:
            return self._full(k)
        cuts = sorted(rng.sample(range(1, inv.open_amount), parts - 1))
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, inv.open_amount], strict=True)]
        cust = self.cust_of[k]
        payer, account = self._payer(cust)
        for i, amount in enumerate(amounts):
            day = self._day(inv, shift=14 * i)
            line = self._line([inv.number], payer, day, with_ref and rng.random() < 0.95)
            self._add("split", amount, inv.currency, day, payer, account, line, [k])
        return None

    def _multi(self, k: int) -> None:
        rng, cust = self.rng, self.cust_of[k]
        free = [j for j in cust.invoices if j not in self.used and j != k]
        if not free:
            return self._full(k)
        with_ref = rng.random() < 0.75
        if with_ref:
            chosen = [k, *rng.sample(free, min(len(free), rng.randint(1, 3)))]
        else:  # without references people pay their oldest invoices together
            self.used.discard(k)
            chosen = [j for j in cust.invoices if j not in self.used][: rng.randint(2, 3)]
        self.used.update(chosen)
        chosen.sort(key=lambda j: (self.invoices[j].due_date, self.invoices[j].id))
        invs = [self.invoices[j] for j in chosen]
        payer, account = self._payer(cust)
        day = self._day(invs[-1])
        line = self._line([i.number for i in invs], payer, day, with_ref)
        total = sum(i.open_amount for i in invs)
        self._add("multi", total, invs[0].currency, day, payer, account, line, chosen)
        return None

    def _number_index(self) -> dict[str, int]:
        found = self.__dict__.get("_numbers")
        if found is None:
            found = self._numbers = {inv.number: i for i, inv in enumerate(self.invoices)}
        return found

    def _slips(self, number: str) -> list[str]:
        """Numbers one character from ``number``: a digit changed, two swapped, one dropped."""
        head, digits = (number[:4], number[4:]) if number.startswith("INV-") else ("", number)
        out = []
        for i, c in enumerate(digits):
            if c.isdigit():
                out += [digits[:i] + d + digits[i + 1 :] for d in "0123456789" if d != c]
        out += [
            digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :] for i in range(len(digits) - 1)
        ]
        return [head + d for d in out if d != digits]

    def _near_miss(self, k: int) -> None:
        """The right amount from the right payer, quoting another real invoice by a slip."""
        inv, numbers = self.invoices[k], self._number_index()
        real = [n for n in self._slips(inv.number) if numbers.get(n, k) != k]
        if not real:
            return self._full(k)
        slip = self.rng.choice(real)
        cust = self.cust_of[k]
        payer, account = self._payer(cust)
        day = self._day(inv)
        line = text.bury(self.rng, text.reference(self.rng, slip), payer, day)
        self._add("near_miss", inv.open_amount, inv.currency, day, payer, account, line, [k])
        return None

    def _buried_ref(self, k: int) -> None:
        """The invoice number among order and phone numbers, dates and IBAN fragments."""
        inv, cust = self.invoices[k], self.cust_of[k]
        payer, account = self._payer(cust)
        day = self._day(inv)
        ref = text.reference(self.rng, inv.number)
        line = text.noisy_line(self.rng, ref, day, account)
        self._add("buried_ref", inv.open_amount, inv.currency, day, payer, account, line, [k])

    def _name_order(self, k: int) -> None:
        """A sole trader pays without a reference; the bank writes the name its own way."""
        persons = self.__dict__.get("_persons")
        if persons is None:
            persons = self._persons = [
                j for j in range(len(self.invoices)) if self.cust_of[j].person
            ]
        free = [j for j in persons if j not in self.used]
        if not free:
            return self._full(k)
        self.used.discard(k)
        j = self.rng.choice(free)
        self.used.add(j)
        j = self._oldest(j)
        inv, cust = self.invoices[j], self.cust_of[j]
        day = self._day(inv)
        payer = text.name_order(self.rng, cust.name)
        line = self.rng.choice(NOREF_TEXTS).format(p=payer, n=self.rng.randint(1000, 99999))
        self._add("name_order", inv.open_amount, inv.currency, day, payer, cust.iban, line, [j])
        return None

    def _charge(self, k: int) -> None:
        """Quoting the invoice, arriving short by what a bank kept (fixed, or an FX rate)."""
        inv, rng = self.invoices[k], self.rng
        unit = {"JPY": 1, "BHD": 1000}.get(inv.currency, 100)
        if rng.random() < 0.6:  # a fixed fee: 0.50 to 25.00, often a round one
            short = rng.choice((50, 250, 500, 750, 1000, 1200, 1500, 2000, 2500)) * unit // 100
            short = short if rng.random() < 0.7 else rng.randint(50, 2500) * unit // 100
        else:  # converted at a worse rate than invoiced: 0.1 % to 2 % short
            short = round(inv.open_amount * rng.uniform(0.001, 0.02))
        short = max(1, min(short, inv.open_amount - 1))
        self._single("charge", k, inv.open_amount - short)

    def _unrelated(self, customers: list) -> None:
        rng = self.rng
        cust = rng.choice(customers)
        kind = rng.choice(UNRELATED)
        day = self.base - dt.timedelta(days=rng.randint(0, 120))
        amount = int(rng.lognormvariate(5.5, 1.3) * 10**cust.exponent) + 1
        payer, account = rng.choice(text.BANKS), None
        if kind == "refund":
            payer, account = rng.choice(text.SUPPLIERS), text.iban(rng)
            line = rng.choice(("Refund order {n}", "Gutschrift Bestellung {n}", "RMA {n} credit"))
        elif kind == "interest":
            line, amount = "Interest Q{q} {y}", max(1, amount // 50)
        elif kind == "transfer":
            payer, line = "Payymo Demo GmbH", rng.choice(("Transfer from savings", "Umbuchung"))
        elif kind == "payout":
            payer, line = "Stripe Payments Europe Ltd", "STRIPE PAYOUT po_1N{n}"
        elif kind == "tax":
            payer, line = "Finanzamt Berlin", "Steuererstattung {y} StNr {n}"
        else:  # a customer pays a deposit that is no invoice (yet)
            payer, account = self._payer(cust)
            line = rng.choice(("Deposit order {n}", "Anzahlung Auftrag {n}", "Advance payment"))
        line = line.format(n=rng.randint(1000, 99999), q=rng.randint(1, 4), y=day.year)
        self._add("unrelated:" + kind, amount, cust.currency, day, payer, account, line, [], False)
