"""Reconciliation request and response schemas."""

from __future__ import annotations

from types import SimpleNamespace

from marshmallow import Schema, fields, validate
from marshmallow.utils import get_value

from payymo import money
from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import Amount, Display, ReferencePattern
from payymo.api.transactions.schemas import NO_NUL, OBJECT_ID
from payymo.matching import patterns
from payymo.models.reconciliation import MATCH_METHODS, MATCH_STATUSES, SUGGESTION_STATUSES
from payymo.representations import reconciliation as representations

MAX_ALLOCATIONS = 50


CHARGE_HELP = (
    "Minor units of the invoice written off as a bank charge (settled, though the "
    "transaction never paid them); 0 for most lines"
)


def _of_invoice(name: str):
    """The line's invoice's ``name`` (``None`` when the invoice was not loaded)."""

    def read(line):
        invoice = getattr(line, "invoice", None)
        return None if invoice is None else getattr(invoice, name)

    return read


def _invoice_field(name: str, kind: str, description: str) -> fields.Function:
    return fields.Function(
        _of_invoice(name),
        allow_none=True,
        metadata={"type": kind, "description": description},
    )


def _remaining_display(line):
    remaining = _of_invoice("amount_remaining")(line)
    return None if remaining is None else money.to_display(remaining, line.currency)


class AllocationOut(OutputSchema):
    """One allocation line: what went to an invoice, any charge, and the invoice as it is now."""

    invoice_id = fields.String()
    invoice_number = _invoice_field("number", "string", "The invoice's number")
    customer_name = _invoice_field("customer_name", "string", "The invoice's customer")
    amount = fields.Integer(metadata={"description": "Minor units allocated to the invoice"})
    amount_display = Display("amount")
    charge = fields.Integer(metadata={"description": CHARGE_HELP})
    charge_display = Display("charge")
    invoice_amount_remaining = _invoice_field(
        "amount_remaining",
        "integer",
        "Minor units the invoice still owes now (after this line while it is live)",
    )
    invoice_amount_remaining_display = fields.Function(
        _remaining_display,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "invoice_amount_remaining in major units, e.g. 12.30",
        },
    )


class PayoutLineOut(OutputSchema):
    """A match's payout line: the Stripe payout this bank credit is."""

    payout_id = fields.String(metadata={"description": "The payout's id (spo_…)"})
    stripe_id = fields.String(
        attribute="payout.stripe_id", metadata={"description": "Stripe's id of the payout (po_…)"}
    )
    amount = fields.Integer(metadata={"description": "Minor units: the payout's amount"})
    amount_display = Display("amount")
    arrival_date = fields.Date(attribute="payout.arrival_date")
    status = fields.String(metadata={"enum": list(MATCH_STATUSES)})


class ReasonOut(OutputSchema):
    """A machine code and a sentence."""

    code = fields.String()
    text = fields.String()


class MatchOut(OutputSchema):
    """A match as the API and events show it."""

    represent = staticmethod(representations.match)

    object = fields.Constant("match")
    id = fields.String()
    transaction_id = fields.String()
    allocations = fields.List(
        fields.Nested(AllocationOut),
        metadata={"description": "The invoices the credit paid (empty when it is a payout)"},
    )
    payouts = fields.List(
        fields.Nested(PayoutLineOut),
        attribute="payout_lines",
        metadata={
            "description": "The Stripe payout the bank credit is (empty when it paid invoices)"
        },
    )
    amount = fields.Integer()
    amount_display = Display("amount")
    currency = fields.String()
    method = fields.String(metadata={"enum": list(MATCH_METHODS)})
    confidence = fields.Float(
        allow_none=True,
        metadata={
            "description": "Calibrated: the share of automatic matches like it that are right (null for a person's match)"
        },
    )
    reasons = fields.List(fields.Nested(ReasonOut))
    status = fields.String(metadata={"enum": list(MATCH_STATUSES)})
    created_by = fields.String()
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)
    reversed_by = fields.String(allow_none=True)
    suggestion_id = fields.String(allow_none=True)


MatchList = list_schema(MatchOut, "MatchList")


class SuggestionAllocationOut(AllocationOut):
    """One proposed allocation line, and the invoice as it is now."""


class SuggestionLines(fields.List):
    """A suggestion's lines (stored without a currency) shown in the suggestion's currency."""

    def __init__(self, **kwargs):
        super().__init__(fields.Nested(SuggestionAllocationOut), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        currency = get_value(obj, "currency")
        invoices = getattr(obj, "shown_invoices", None) or {}
        lines = []
        for line in value:
            invoice_id = get_value(line, "invoice_id")
            lines.append(
                SimpleNamespace(
                    invoice_id=invoice_id,
                    amount=get_value(line, "amount"),
                    charge=get_value(line, "charge", default=0),
                    currency=currency,
                    invoice=invoices.get(invoice_id),
                )
            )
        return super()._serialize(lines, attr, obj, **kwargs)


class SuggestionOut(OutputSchema):
    """A suggestion as the API shows it."""

    represent = staticmethod(representations.suggestion)

    object = fields.Constant("suggestion")
    id = fields.String()
    transaction_id = fields.String()
    allocations = SuggestionLines()
    currency = fields.String(metadata={"description": "The transaction's currency"})
    confidence = fields.Float(
        metadata={"description": "Calibrated: of suggestions shown at 0.7, about 70 % are right"}
    )
    reasons = fields.List(fields.Nested(ReasonOut))
    status = fields.String(metadata={"enum": list(SUGGESTION_STATUSES)})
    rank = fields.Integer(metadata={"description": "1 is the best suggestion for its transaction"})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    match_id = fields.String(allow_none=True, metadata={"description": "Set once accepted"})


SuggestionList = list_schema(SuggestionOut, "SuggestionList")


class SuggestionListArgs(ListArgs):
    """Filters for ``GET /reconciliation/suggestions``."""

    transaction_id = fields.String(validate=OBJECT_ID)
    invoice_id = fields.String(
        validate=OBJECT_ID, metadata={"description": "Suggestions that allocate to this invoice"}
    )
    status = fields.String(validate=validate.OneOf(SUGGESTION_STATUSES))


class MatchListArgs(ListArgs):
    """Filters for ``GET /reconciliation/matches``."""

    transaction_id = fields.String(validate=OBJECT_ID)
    invoice_id = fields.String(
        validate=OBJECT_ID, metadata={"description": "Matches with a line for this invoice"}
    )
    method = fields.String(validate=validate.OneOf(MATCH_METHODS))
    status = fields.String(validate=validate.OneOf(MATCH_STATUSES))


class AllocationIn(StrictSchema):
    """Allocate this much of the transaction to this invoice."""

    invoice_id = fields.String(required=True, validate=OBJECT_ID)
    amount = Amount(required=True)
    charge = Amount(
        minimum=0,
        load_default=0,
        metadata={
            "description": "Also write this much of the invoice off as a bank charge (minor "
            "units; amount + charge at most what the invoice has open). Default 0."
        },
    )


class ManualMatchIn(StrictSchema):
    """A person's match of one credit to up to 50 invoices."""

    transaction_id = fields.String(required=True, validate=OBJECT_ID)
    allocations = fields.List(
        fields.Nested(AllocationIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_ALLOCATIONS),
    )


class PatternTestIn(StrictSchema):
    """A reference pattern and a sample remittance text to try it on."""

    pattern = ReferencePattern(required=True)
    text = fields.String(
        required=True,
        validate=[
            validate.Length(
                max=patterns.PATTERN_TEXT,
                error=f"At most {patterns.PATTERN_TEXT} characters: reconciliation runs a "
                f"pattern over the first {patterns.PATTERN_TEXT} characters of a remittance.",
            ),
            NO_NUL,
        ],
        metadata={
            "description": f"Sample remittance text, at most {patterns.PATTERN_TEXT} characters"
        },
    )


class PatternCaptureOut(Schema):
    """One thing the pattern captured, and the forms reconciliation compares."""

    captured = fields.String(metadata={"description": "The text the pattern captured"})
    normalized = fields.String(
        metadata={
            "description": "What is compared with invoice numbers: upper case, accents and "
            "separators gone, leading zeros dropped, a generic word (Invoice, No., Rechnung, "
            "RE, ...) as INV; empty (never looked up) when nothing is left"
        }
    )
    without_prefix = fields.String(
        allow_none=True,
        metadata={
            "description": "The normalised form from its first number on, also compared "
            "with invoice numbers (and their own prefix-less forms); null without a number"
        },
    )


class PatternTestOut(Schema):
    """What the pattern extracts from the text."""

    object = fields.Constant("reference_test")
    references = fields.List(
        fields.String(),
        metadata={"description": "The normalised references a run looks up, each once"},
    )
    captures = fields.List(
        fields.Nested(PatternCaptureOut),
        metadata={"description": "Each distinct capture, in order, beside its normalised forms"},
    )


class Amounts(Schema):
    """A count of credits and their amount (minor units of one currency)."""

    count = fields.Integer()
    amount = fields.Integer()
    amount_display = Display("amount", keyed=True)


class CreditsByCurrency(Schema):
    """Credits of one currency by match status; amounts never mix currencies."""

    currency = fields.String()
    count = fields.Integer()
    amount = fields.Integer()
    amount_display = Display("amount", keyed=True)
    amount_allocated = fields.Integer()
    amount_allocated_display = Display("amount_allocated", keyed=True)
    amount_unallocated = fields.Integer()
    amount_unallocated_display = Display("amount_unallocated", keyed=True)
    matched = fields.Nested(Amounts)
    partially_matched = fields.Nested(Amounts)
    suggested = fields.Nested(Amounts)
    unmatched = fields.Nested(Amounts)
    ignored = fields.Nested(Amounts)


class OpenInvoicesByCurrency(Schema):
    """Open and partially paid invoices of one currency; amounts are what is still owed."""

    currency = fields.String()
    count = fields.Integer()
    amount_remaining = fields.Integer()
    amount_remaining_display = Display("amount_remaining", keyed=True)
    open = fields.Nested(Amounts)
    partially_paid = fields.Nested(Amounts)


class MatchCounts(Schema):
    """Live (active) matches by method, and how many were reversed."""

    active = fields.Integer()
    auto = fields.Integer()
    manual = fields.Integer()
    suggestion = fields.Integer()
    stripe = fields.Integer(metadata={"description": "Stripe payments that paid their invoice"})
    reversed = fields.Integer()


class SummaryOut(Schema):
    """``GET /reconciliation``: where reconciliation stands."""

    object = fields.Constant("reconciliation_summary")
    credit_count = fields.Integer(metadata={"description": "Credits (money in), all currencies"})
    credits = fields.List(fields.Nested(CreditsByCurrency))
    matches = fields.Nested(MatchCounts)
    auto_match_rate = fields.Float(
        allow_none=True, metadata={"description": "Auto matches / all active matches"}
    )
    auto_matched_credit_rate = fields.Float(
        allow_none=True,
        metadata={"description": "Credits with an active auto match / credits not ignored"},
    )
    open_suggestions = fields.Integer()
    open_invoice_count = fields.Integer()
    open_invoices = fields.List(fields.Nested(OpenInvoicesByCurrency))
