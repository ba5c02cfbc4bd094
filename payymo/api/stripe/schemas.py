"""Stripe payments and payouts: request bodies, filters, and the documents shown."""

from __future__ import annotations

from typing import NamedTuple

from marshmallow import fields, validate
from marshmallow.utils import get_value

from payymo import money
from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import Amount, Display, Timestamp
from payymo.representations import stripe as representations

OBJECT_ID = validate.Length(min=1, max=64)


def _maybe_display(name: str) -> fields.Function:
    """``name`` in major units beside its currency, or None while it is not known."""

    def show(obj):
        value = get_value(obj, name)
        return None if value is None else money.to_display(value, get_value(obj, "currency"))

    return fields.Function(
        show, allow_none=True, metadata={"type": "string", "description": f"{name}, e.g. 12.30"}
    )


class PaymentCreate(StrictSchema):
    """Take a payment for an invoice through the tenant's Stripe."""

    invoice_id = fields.String(required=True, validate=OBJECT_ID)
    amount = Amount(
        metadata={"description": "Minor units; the invoice's open amount when left out"}
    )
    payment_method_types = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        validate=validate.Length(min=1, max=10),
        metadata={"description": 'Stripe payment method types (default ["card"])'},
    )
    payment_method = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Confirm at once with this payment method (test mode: "
            "pm_card_visa, pm_card_chargeDeclined, …); otherwise confirm it with Stripe.js "
            "and the client_secret"
        },
    )


class PayoutMatchIn(StrictSchema):
    """The bank credit that is this payout."""

    transaction_id = fields.String(required=True, validate=OBJECT_ID)


class PaymentListArgs(ListArgs):
    """Filters for ``GET /stripe/payments``."""

    status = fields.String(validate=validate.Length(max=40))
    invoice_id = fields.String(validate=OBJECT_ID)
    customer = fields.String(validate=validate.Length(max=255))
    created_from = Timestamp(metadata={"description": "Created in Stripe at or after"})
    created_to = Timestamp(metadata={"description": "Created in Stripe before"})


class PayoutListArgs(ListArgs):
    """Filters for ``GET /stripe/payouts``."""

    status = fields.String(
        validate=validate.OneOf(["paid", "pending", "in_transit", "canceled", "failed"])
    )


class StripePaymentOut(OutputSchema):
    """A Stripe payment: amounts, fee and net in minor units, refunds, disputes."""

    represent = staticmethod(representations.payment)

    object = fields.Constant("stripe_payment")
    id = fields.String()
    stripe_id = fields.String(metadata={"description": "The PaymentIntent's id (pi_…)"})
    invoice_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "The PaymentIntent's status"})
    amount = fields.Integer()
    amount_display = Display("amount")
    amount_received = fields.Integer()
    amount_received_display = Display("amount_received")
    amount_refunded = fields.Integer()
    amount_refunded_display = Display("amount_refunded")
    fee = fields.Integer(allow_none=True, metadata={"description": "Stripe's fee, minor units"})
    fee_display = _maybe_display("fee")
    net = fields.Integer(allow_none=True, metadata={"description": "amount minus fee, minor units"})
    net_display = _maybe_display("net")
    currency = fields.String()
    customer = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    charge_id = fields.String(allow_none=True)
    dispute_status = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    decline_code = fields.String(allow_none=True)
    stripe_created = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CreatedPayment(NamedTuple):
    """A payment just created, with the secret Stripe.js confirms it with."""

    payment: object
    client_secret: str | None


def _created(created: CreatedPayment) -> dict:
    return {
        **representations.payment(created.payment),
        "client_secret": created.client_secret,
    }


class StripePaymentCreated(StripePaymentOut):
    """The payment, and its ``client_secret`` for confirming it in the browser."""

    represent = staticmethod(_created)

    client_secret = fields.String(allow_none=True)


StripePaymentList = list_schema(StripePaymentOut, "StripePaymentList")


def _shown(name: str) -> fields.String:
    return fields.String(
        metadata={"description": f"{name} in major units, e.g. 12.30 (JPY 1230, BHD 12.300)"}
    )


class PayoutInvoiceOut(OutputSchema):
    """An invoice the payout's charges paid."""

    invoice_id = fields.String()
    invoice_number = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "Minor units its charges paid (gross)"})
    amount_display = _shown("amount")


class PayoutBreakdownOut(OutputSchema):
    """What a payout was made of; charges + refunds + disputes + other - fees = net."""

    charges = fields.Integer(metadata={"description": "Gross card charges, minor units"})
    charges_display = _shown("charges")
    charge_count = fields.Integer()
    refunds = fields.Integer(metadata={"description": "Refunds (negative), minor units"})
    refunds_display = _shown("refunds")
    refund_count = fields.Integer()
    disputes = fields.Integer(
        metadata={"description": "Disputes and their reversals (net), minor units"}
    )
    disputes_display = _shown("disputes")
    dispute_count = fields.Integer()
    other = fields.Integer(
        metadata={
            "description": "Everything else (adjustments, a failed payout's money returned), "
            "minor units"
        }
    )
    other_display = _shown("other")
    fees = fields.Integer(metadata={"description": "Stripe's fees, minor units"})
    fees_display = _shown("fees")
    net = fields.Integer(metadata={"description": "What the payout paid out, minor units"})
    net_display = _shown("net")
    invoices = fields.List(fields.Nested(PayoutInvoiceOut))


class StripePayoutOut(OutputSchema):
    """A payout: what reached the bank, what it was made of, which bank line it became."""

    represent = staticmethod(representations.payout)

    object = fields.Constant("stripe_payout")
    id = fields.String()
    stripe_id = fields.String()
    status = fields.String()
    amount = fields.Integer()
    amount_display = Display("amount")
    currency = fields.String()
    arrival_date = fields.Date()
    automatic = fields.Boolean()
    reconciliation_status = fields.String(allow_none=True)
    trace_id = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    breakdown = fields.Nested(
        PayoutBreakdownOut,
        allow_none=True,
        metadata={"description": "Null until Stripe has reconciled the payout"},
    )
    breakdown_source = fields.String(
        allow_none=True,
        metadata={
            "enum": ["payout", "between_payouts"],
            "description": "payout: Stripe listed the payout's lines; between_payouts: a "
            "manual payout, explained by the balance transactions since the payout before it",
        },
    )
    bank_transaction_id = fields.String(
        allow_none=True,
        metadata={"description": "The bank credit matched to this payout (a match's payout line)"},
    )
    stripe_created = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


StripePayoutList = list_schema(StripePayoutOut, "StripePayoutList")
