"""Scoring one candidate allocation: evidence points, a confidence and the reasons.

Points are integers (hundredths of confidence, capped to 0..100) so ties and thresholds
are exact. The strongest candidate without a reference and without a known IBAN
(amount + learned name + similar name + date) scores ``MAX_WEAK``, below the default
threshold minus margin: amount and name alone never auto-confirm, and the engine may
stop early once a reference or IBAN candidate beats ``MAX_WEAK`` by the margin.
"""

from __future__ import annotations

from payymo.matching.charges import is_plausible_charge
from payymo.matching.context import Money, Spec, TxnContext
from payymo.matching.names import similarity_normalized
from payymo.matching.references import one_edit_apart
from payymo.matching.types import InvoiceIn

REF_EXACT = 60  # with an exact amount, enough on its own (60 + 35 >= 90)
REF_PARTIAL = 45  # the number without its prefix: needs the amount and more
REF_SOME = 25  # some, not all, of the candidate's invoices are named
REF_OTHER = -15  # the remittance names invoices this candidate leaves out
REF_NEAR = 20  # a token one edit from the number: a likely slip, never enough alone
REF_DOUBT = -20  # names another customer's invoice while the payer's own customer owes
# exactly this amount: likely a slip, never confirmed automatically
CUSTOMER_REF = 40
AMOUNT_EXACT = 35  # one invoice, the named invoices, or a customer's oldest ones
AMOUNT_SUBSET = 15  # any other combination: many combinations make coincidences likely
AMOUNT_TOLERATED = 15
AMOUNT_PARTIAL = 10
AMOUNT_SPLIT = 25  # one of several credits of a payer that add up to the open amount
# A named invoice less a likely bank charge: a full payment, but a range of amounts fits
# by chance far more often than one exact amount (a payout id that reads as an invoice
# number, 1.3 % short of it, did in the benchmark). So a reference and a charge alone stay
# under the threshold (60 + 24 + 5 < 90): the payer's name or IBAN must agree as well.
# Below AMOUNT_EXACT, so an invoice the credit pays exactly wins between two named ones.
AMOUNT_CHARGE = 24
AMOUNT_NEAR = 12  # overpaid beyond the tolerance but by at most a tenth
NEAR_SHARE = 10
AMOUNT_OVER = -15
IBAN_KNOWN = 45
NAME_KNOWN = 15
NAME_STEPS = ((95, 20), (85, 15), (75, 8))
NAME_IDENTICAL = 1  # a tie-breaker only
OTHER_CUSTOMER = -15  # the payer bears another customer's exact name
DATE_CLOSE, DATE_IN, DATE_OUT = 5, 2, -5
CLOSE_DAYS = (-15, 10)  # paid 15 days before to 10 days after the due date
EARLY_DAYS = 10  # paying a few days before the issue date still counts
MAX_WEAK = AMOUNT_EXACT + NAME_KNOWN + NAME_STEPS[0][1] + NAME_IDENTICAL + DATE_CLOSE
CHARGE_CODE = "amount_short_charge"
NEAR_CODE = "reference_near"
STRONG_CODES = frozenset(
    {"reference_exact", "reference_partial", "reference_customer", "payer_iban_known"}
)


def similarity(ctx: TxnContext, key: str, name: str) -> float:
    """Payer-name similarity to a customer, computed once per transaction and customer."""
    sim = ctx.similarity.get(key)
    if sim is None:
        sim = ctx.similarity[key] = similarity_normalized(ctx.payer, name) if ctx.payer else 0.0
    return sim


def _near(ctx: TxnContext, positions, invoices, cores, reasons: list) -> int:
    """A single invoice whose number the remittance misses by one character."""
    if not ctx.near_tokens or len(positions) != 1 or not cores[0] or positions[0] in ctx.refs:
        return 0
    core = cores[0]
    for token, written in ctx.near_tokens:
        if one_edit_apart(token, core):
            text = "reference {} is one character from invoice {}"
            reasons.append((NEAR_CODE, text, (written, invoices[0].number)))
            return REF_NEAR
    return 0


def _doubt(ctx: TxnContext, keys, total: int, reasons: list) -> int:
    """An exact reference to another customer's invoice, while the payer's owes this amount."""
    if not ctx.rival or ctx.payer_customers.intersection(keys):
        return 0
    if abs(ctx.amount - total) <= ctx.tolerance:
        text = "the named invoice is another customer's, and the payer owes this amount too"
    else:
        text = "the named invoice's amount and customer both differ from the payment's"
    reasons.append(("reference_doubtful", text, ()))
    return REF_DOUBT


def _reference(ctx: TxnContext, positions, invoices, keys, total: int, reasons) -> int:
    if not ctx.refs:
        return 0
    exact, partial = [], []
    for p, inv in zip(positions, invoices, strict=True):
        hit = ctx.refs.get(p)
        if hit is not None:
            (exact if hit[0] == "exact" else partial).append(inv.number or inv.id)
    points = 0
    if exact or partial:
        if len(exact) + len(partial) < len(positions):
            points = REF_SOME
        else:
            points = REF_PARTIAL if partial else REF_EXACT
        if exact:
            reasons.append(("reference_exact", "{} found in remittance", (", ".join(exact),)))
            if len(positions) == 1 and not partial:
                points += _doubt(ctx, keys, total, reasons)
        if partial:
            text = "{} found in remittance without its prefix"
            reasons.append(("reference_partial", text, (", ".join(partial),)))
    return points


def _other(ctx: TxnContext, positions, reasons: list) -> int:
    """The remittance names, exactly, invoices this candidate leaves out."""
    if ctx.refs and any(
        kind == "exact" and p not in positions for p, (kind, _) in ctx.refs.items()
    ):
        reasons.append(("reference_other", "the remittance names other invoices", ()))
        return REF_OTHER
    return 0


def _charge(ctx: TxnContext, short: int, reasons: list) -> int:
    text = "short by {}, a likely bank charge"
    if short <= ctx.charge_tolerance:
        text += ", written off (within the charge tolerance)"
    else:
        text += "; it stays open (beyond the charge tolerance)"
    reasons.append((CHARGE_CODE, text, (Money(short, ctx.currency),)))
    return AMOUNT_CHARGE


def _amount(ctx: TxnContext, positions, total: int, reasons: list, named: bool) -> int:
    money, n = ctx.amount, len(positions)
    if money == total and n == 1:
        reasons.append(("amount_exact", "amount equals the open amount", ()))
        return AMOUNT_EXACT
    if money == total:
        strong = all(p in ctx.refs for p in positions) or frozenset(positions) in ctx.oldest
        text = "amount equals the open amounts of {} invoices" + (" (the oldest)" if strong else "")
        reasons.append(("amount_sum", text, (n,)))
        return AMOUNT_EXACT if strong else AMOUNT_SUBSET
    if money < total and n == 1 and positions[0] in ctx.split:
        text = "with other payments from this payer it adds up to the open amount"
        reasons.append(("amount_split", text, ()))
        return AMOUNT_SPLIT
    if named and n == 1 and is_plausible_charge(total - money, total, ctx.currency):
        return _charge(ctx, total - money, reasons)
    if money < total:
        left = Money(total - money, ctx.currency)
        reasons.append(("amount_partial", "partial payment: {} stays open", (left,)))
        return AMOUNT_PARTIAL
    over = Money(money - total, ctx.currency)
    if money - total <= ctx.tolerance:
        reasons.append(("amount_overpaid", "overpaid by {}, within tolerance", (over,)))
        return AMOUNT_TOLERATED
    reasons.append(("amount_overpaid", "overpaid by {}; the rest stays unallocated", (over,)))
    # a little more than an invoice is likelier an overpayment than an instalment of another
    return AMOUNT_NEAR if (money - total) * NEAR_SHARE <= total else AMOUNT_OVER


def _payer(ctx: TxnContext, keys, names, plains, named: bool, reasons: list) -> int:
    points = 0
    customers = keys if len(keys) == 1 else dict.fromkeys(keys)
    if ctx.customer_refs:
        for key in customers:
            if key in ctx.customer_refs:
                points += CUSTOMER_REF
                ref = ctx.customer_refs[key]
                reasons.append(
                    ("reference_customer", "customer reference {} found in remittance", (ref,))
                )
                break
    if ctx.iban_customers and any(key in ctx.iban_customers for key in customers):
        points += IBAN_KNOWN
        reasons.append(("payer_iban_known", "payer IBAN paid this customer before", ()))
    if ctx.name_customers and any(key in ctx.name_customers for key in customers):
        points += NAME_KNOWN
        reasons.append(("payer_name_known", "payer name paid this customer before", ()))
    if (
        ctx.payer_customers
        and not named
        and not points
        and not ctx.payer_customers.intersection(customers)
    ):
        reasons.append(("payer_other_customer", "the payer is another customer", ()))
        return OTHER_CUSTOMER
    if ctx.payer:
        if len(keys) == 1:
            sim = similarity(ctx, keys[0], names[0])
        else:
            sim = max(similarity(ctx, key, name) for key, name in zip(keys, names, strict=True))
        for floor, step in NAME_STEPS:
            if sim >= floor:
                identical = ctx.payer_plain in plains
                reasons.append(("payer_name", _name_text(sim, identical), (round(sim),)))
                # legal form too: tells "Acme Ltd" from "Acme GmbH"
                if step == NAME_STEPS[0][1] and identical:
                    step += NAME_IDENTICAL
                return points + step
    return points


def _name_text(sim: float, identical: bool) -> str:
    """What a person reads for a payer name: equal, equal but for the legal form, or close."""
    if identical:
        return "payer name is the customer's"
    if sim >= 100:
        return "payer name matches the customer (legal form, case and word order ignored)"
    return "payer name is close to the customer's ({} % similar)"


def _date(ctx: TxnContext, dates: list, explained: bool, reasons: list) -> int:
    """Within the window; closeness to the due date counts only when the amount fits.

    ``dates`` holds each invoice's (due day, first day it may be paid) as ordinals, or
    None. An instalment's timing says little about which invoice it pays (those go to
    the oldest open invoice first, through the ranking's tie-break).
    """
    day = ctx.day
    if day is None:
        return 0
    best = None
    for when in dates:
        if when is None:
            continue
        due, start = when
        lag = day - due
        if explained and CLOSE_DAYS[0] <= lag <= CLOSE_DAYS[1] and day >= start:
            best = DATE_CLOSE
        elif start <= day and lag <= ctx.window and best is None:
            best = DATE_IN
    if best is None:
        if all(when is None for when in dates):
            return 0
        reasons.append(("date_out_of_window", "paid outside the {}-day window", (ctx.window,)))
        return DATE_OUT
    if best == DATE_CLOSE:
        reasons.append(("date_in_window", "paid close to the due date", ()))
    else:
        reasons.append(("date_in_window", "paid within the {}-day window", (ctx.window,)))
    return best


def date_span(inv: InvoiceIn) -> tuple[int, int] | None:
    """An invoice's (due day, first day a payment counts) as ordinals, None without dates."""
    due = inv.due_date or inv.issue_date
    if due is None:
        return None
    return due.toordinal(), (inv.issue_date or due).toordinal() - EARLY_DAYS


def score(
    ctx: TxnContext,
    invoices: list[InvoiceIn],
    positions: tuple[int, ...],
    opens: list[int],
    keys: list[str],
    names: list[str],
    dates: list,
    plains: list[str],
    cores: list[str],
) -> tuple[int, tuple[Spec, ...]]:
    """Points and reason specs for paying these invoices (per-invoice facts in parallel lists)."""
    reasons: list[Spec] = []
    total = sum(opens)
    points = _reference(ctx, positions, invoices, keys, total, reasons)
    named = bool(ctx.refs) and any(p in ctx.refs for p in positions)
    # a charge needs the invoice named: by its number, or by its customer's reference
    pays_named = len(positions) == 1 and (
        (named and positions[0] in ctx.refs) or keys[0] in ctx.customer_refs
    )
    points += _amount(ctx, positions, total, reasons, pays_named)
    charged = reasons[-1][0] == CHARGE_CODE
    payer = _payer(ctx, keys, names, plains, named, reasons)
    points += payer
    # A slip counts for the payer's own invoice of exactly this amount, and then explains
    # the other number the remittance names; it is never evidence on its own.
    fits = payer > 0 and ctx.amount == total
    near = _near(ctx, positions, invoices, cores, reasons) if fits else 0
    points += near if near else _other(ctx, positions, reasons)
    points += _date(ctx, dates, charged or ctx.amount >= total, reasons)
    return points, tuple(reasons)


def confidence(points: int) -> float:
    """Points as a confidence in [0, 1]."""
    return min(max(points, 0), 100) / 100


def is_strong(reasons: tuple) -> bool:
    """True when the evidence (Reasons or specs) includes a reference or a known IBAN."""
    return any(r[0] in STRONG_CODES for r in reasons)
