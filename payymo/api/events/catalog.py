"""Each event type's ``data`` schema (for OpenAPI) and a realistic sample (for Zapier, Make).

Samples are rendered by the same representation functions as real events, from sample
objects, so a sample and a real event of a type have the same fields.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from marshmallow import Schema, fields

from payymo.api.bank_connections.schemas import BankConnectionOut
from payymo.api.invoices.schemas import InvoiceOut
from payymo.api.reconciliation.schemas import MatchOut, SuggestionOut
from payymo.api.stripe.schemas import StripePaymentOut, StripePayoutOut
from payymo.api.transactions.schemas import TransactionOut
from payymo.api.webhook_endpoints.schemas import WebhookEndpointOut
from payymo.event_types import EVENT_TYPES
from payymo.representations import reconciliation, webhooks
from payymo.representations import stripe as stripe_documents
from payymo.representations.bank_connections import connection_document
from payymo.representations.invoices import invoice as invoice_document
from payymo.representations.transactions import transaction as transaction_document
from payymo.tenancy import current_tenant_id

_PREVIOUS = "The changed fields' values before the change (updates only)"


def _data(name: str, out: type[Schema], previous: bool = False, **extra) -> type[Schema]:
    attrs = {"object": fields.Nested(out, required=True), **extra}
    if previous:
        attrs["previous_attributes"] = fields.Dict(metadata={"description": _PREVIOUS})
    return type(name, (Schema,), {"__doc__": f"``data`` of {name[:-4]} events.", **attrs})


InvoiceEventData = _data("InvoiceEventData", InvoiceOut, previous=True)
TransactionEventData = _data("TransactionEventData", TransactionOut, previous=True)
MatchEventData = _data("MatchEventData", MatchOut)
SuggestionEventData = _data("SuggestionEventData", SuggestionOut)
BankConnectionEventData = _data("BankConnectionEventData", BankConnectionOut, previous=True)
StripePaymentEventData = _data("StripePaymentEventData", StripePaymentOut, previous=True)
StripePayoutEventData = _data("StripePayoutEventData", StripePayoutOut, previous=True)
WebhookEndpointEventData = _data("WebhookEndpointEventData", WebhookEndpointOut)
WebhookTestEventData = _data(
    "WebhookTestEventData", WebhookEndpointOut, message=fields.String(required=True)
)

DATA_SCHEMAS: dict[str, type[Schema]] = {
    "invoice.": InvoiceEventData,
    "transaction.created": TransactionEventData,
    "transaction.updated": TransactionEventData,
    "transaction.matched": MatchEventData,
    "match.reversed": MatchEventData,
    "suggestion.created": SuggestionEventData,
    "bank_connection.": BankConnectionEventData,
    "stripe_payment.": StripePaymentEventData,
    "refund.": StripePaymentEventData,
    "dispute.": StripePaymentEventData,
    "stripe_payout.": StripePayoutEventData,
    "webhook_endpoint.disabled": WebhookEndpointEventData,
    "webhook.test": WebhookTestEventData,
}


def data_schema(event_type: str) -> type[Schema]:
    """The schema of an event type's ``data``."""
    if event_type in DATA_SCHEMAS:
        return DATA_SCHEMAS[event_type]
    return DATA_SCHEMAS[event_type.split(".", 1)[0] + "."]


def register(spec) -> None:
    """Add each event type's ``data`` schema to the OpenAPI components."""
    for schema in dict.fromkeys(DATA_SCHEMAS.values()):
        spec.components.schema(schema.__name__, schema=schema)
    for event_type, description in EVENT_TYPES.items():
        target = data_schema(event_type).__name__
        spec.components.schema(
            f"EventData.{event_type}",
            {
                "description": f"`data` of `{event_type}`: {description}",
                "allOf": [{"$ref": f"#/components/schemas/{target}"}],
            },
        )


# -- samples -------------------------------------------------------------------------------

_AT = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)


def _invoice(**changes) -> SimpleNamespace:
    values = dict(
        id="inv_01JDX3S8Q2R5T7V9W1Y3Z5B7C9",
        external_id="crm-10023",
        number="INV-2026-0042",
        customer_name="Initech GmbH",
        customer_email="billing@initech.example",
        customer_reference="CUST-0815",
        amount_due=123_000,
        amount_paid=0,
        amount_charged=0,
        currency="EUR",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 30),
        status="open",
        dispute_status=None,
        metadata_={"crm_id": "10023"},
        voided_at=None,
        created_at=_AT - dt.timedelta(days=26),
        updated_at=_AT,
    )
    values |= changes
    remaining = values["amount_due"] - values["amount_paid"] - values["amount_charged"]
    values["amount_remaining"] = 0 if values["status"] == "void" else remaining
    return SimpleNamespace(**values)


def _transaction(**changes) -> SimpleNamespace:
    values = dict(
        id="txn_01JDX4A1B2C3D4E5F6G7H8J9K0",
        account_id="ba_01JDW9Z8Y7X6W5V4T3S2R1Q0P9",
        provider_id="2026112700042",
        status="booked",
        booking_date=dt.date(2026, 11, 27),
        value_date=dt.date(2026, 11, 27),
        amount=123_000,
        amount_allocated=0,
        currency="EUR",
        counterparty_name="Initech GmbH",
        counterparty_iban="DE89370400440532013000",
        remittance_information="INV-2026-0042 November services",
        end_to_end_id="E2E-2026-0042",
        match_status="unmatched",
        category=None,
        notes=None,
        created_at=_AT,
        updated_at=_AT,
    )
    return SimpleNamespace(**(values | changes))


def _match(status: str = "active") -> dict:
    invoice = _invoice(amount_paid=123_000, status="paid")
    line = SimpleNamespace(
        invoice_id=invoice.id, amount=123_000, charge=0, currency="EUR", invoice=invoice
    )
    return reconciliation.match(
        SimpleNamespace(
            id="mat_01JDX4C5D6E7F8G9H0J1K2L3M4",
            transaction_id=_transaction().id,
            allocations=[line],
            amount=123_000,
            currency="EUR",
            method="auto",
            confidence=0.99,
            reasons=[
                {"code": "reference", "text": "The remittance carries INV-2026-0042."},
                {"code": "amount_exact", "text": "The amount equals the open amount."},
            ],
            status=status,
            created_by="reconciliation",
            created_at=_AT,
            reversed_at=_AT if status == "reversed" else None,
            reversed_by="key_01JDX0AB1234" if status == "reversed" else None,
            suggestion_id=None,
        )
    )


def _suggestion() -> dict:
    invoice = _invoice()
    return reconciliation.suggestion(
        SimpleNamespace(
            id="sug_01JDX4E7F8G9H0J1K2L3M4N5P6",
            transaction_id=_transaction().id,
            allocations=[{"invoice_id": invoice.id, "amount": 123_000}],
            shown_invoices={invoice.id: invoice},
            currency="EUR",
            confidence=0.72,
            reasons=[{"code": "payer_name", "text": "The payer's name matches the customer."}],
            status="open",
            rank=1,
            created_at=_AT,
            decided_at=None,
            decided_by=None,
            match_id=None,
        )
    )


def _connection(status: str = "linked") -> dict:
    account = SimpleNamespace(
        id="ba_01JDW9Z8Y7X6W5V4T3S2R1Q0P9",
        name="Business current account",
        iban="GB33BUKB20201555555555",
        currency="GBP",
    )
    link = SimpleNamespace(
        account=account,
        owner_name="Demo Ltd",
        provider_account_id="7e944232-bda9-40bc-b784-660c7ab5fe78",
        balances=[{"type": "interimAvailable", "amount": 1_250_000, "currency": "GBP"}],
        balances_updated_at=_AT,
        last_synced_at=_AT,
    )
    return connection_document(
        SimpleNamespace(
            id="bc_01JDW9X1Y2Z3A4B5C6D7E8F9G0",
            provider="gocardless",
            institution_id="SANDBOXFINANCE_SFIN0000",
            institution_name="Sandbox Finance",
            status=status,
            link=None,
            redirect_url="https://app.example.com/banks/connected",
            max_historical_days=180,
            access_valid_for_days=180,
            linked_at=_AT - dt.timedelta(days=173),
            access_expires_at=_AT + dt.timedelta(days=7),
            last_synced_at=_AT,
            next_sync_at=_AT + dt.timedelta(hours=6),
            last_error="The consent expired: reconnect the bank." if status == "expired" else None,
            last_error_code="consent_expired" if status == "expired" else None,
            links=[link],
            created_at=_AT - dt.timedelta(days=173),
            updated_at=_AT,
        )
    )


def _endpoint(enabled: bool = True) -> dict:
    return webhooks.endpoint(
        SimpleNamespace(
            id="we_01JDX5A1B2C3D4E5F6G7H8J9K0",
            url="https://hooks.zapier.com/hooks/standard/123456/abcdef/",
            event_types=["invoice.paid"],
            description="Zapier: invoice paid to CRM",
            enabled=enabled,
            disabled_reason=None if enabled else "the receiver answered 410 Gone",
            previous_secret_expires_at=None,
            failing_since=None,
            created_at=_AT - dt.timedelta(days=30),
            updated_at=_AT,
        )
    )


def _stripe_payment(**changes) -> dict:
    values = dict(
        id="spay_01JDX6A1B2C3D4E5F6G7H8J9K0",
        stripe_id="pi_3QHjvX2eZvKYlo2C1a2b3c4d",
        invoice_id=_invoice().id,
        status="succeeded",
        amount=123_000,
        amount_received=123_000,
        amount_refunded=0,
        fee=3_597,
        net=119_403,
        currency="EUR",
        customer="cus_R8fz1pQ2tXyZ9a",
        description="Invoice INV-2026-0042",
        charge_id="ch_3QHjvX2eZvKYlo2C1e2f3g4h",
        dispute_status=None,
        failure_message=None,
        decline_code=None,
        stripe_created=_AT,
        created_at=_AT,
        updated_at=_AT,
    )
    return stripe_documents.payment(SimpleNamespace(**(values | changes)))


def _stripe_payout(**changes) -> dict:
    values = dict(
        id="spo_01JDX7A1B2C3D4E5F6G7H8J9K0",
        stripe_id="po_1QHkA22eZvKYlo2CzYxWvUts",
        status="paid",
        amount=119_403,
        currency="EUR",
        arrival_date=dt.date(2026, 11, 29),
        automatic=True,
        reconciliation_status="completed",
        trace_id="TRACE4F2A9C1B7E",
        failure_code=None,
        failure_message=None,
        breakdown={
            "charges": 123_000,
            "charge_count": 1,
            "refunds": 0,
            "refund_count": 0,
            "disputes": 0,
            "dispute_count": 0,
            "other": 0,
            "fees": 3_597,
            "net": 119_403,
            "invoices": [
                {
                    "invoice_id": "inv_01JDX3S8Q2R5T7V9W1Y3Z5B7C9",
                    "invoice_number": "INV-2026-0042",
                    "amount": 123_000,
                }
            ],
        },
        breakdown_source="payout",
        bank_transaction_id=None,
        stripe_created=_AT,
        created_at=_AT,
        updated_at=_AT,
    )
    return stripe_documents.payout(SimpleNamespace(**(values | changes)))


def _paid() -> dict:
    return {
        "object": invoice_document(_invoice(amount_paid=123_000, status="paid")),
        "previous_attributes": {"amount_paid": 0, "amount_paid_display": "0.00"},
    }


_SAMPLES = {
    "invoice.created": lambda: {"object": invoice_document(_invoice())},
    "invoice.updated": lambda: {
        "object": invoice_document(_invoice(due_date=dt.date(2026, 12, 15))),
        "previous_attributes": {"due_date": "2026-11-30"},
    },
    "invoice.partially_paid": lambda: {
        "object": invoice_document(_invoice(amount_paid=50_000, status="partially_paid")),
        "previous_attributes": {"amount_paid": 0, "amount_paid_display": "0.00"},
    },
    "invoice.paid": _paid,
    "invoice.voided": lambda: {
        "object": invoice_document(_invoice(status="void", voided_at=_AT)),
        "previous_attributes": {"status": "open"},
    },
    "transaction.created": lambda: {"object": transaction_document(_transaction())},
    "transaction.updated": lambda: {
        "object": transaction_document(_transaction()),
        "previous_attributes": {"status": "pending", "provider_id": None},
    },
    "transaction.matched": lambda: {"object": _match()},
    "match.reversed": lambda: {"object": _match("reversed")},
    "suggestion.created": lambda: {"object": _suggestion()},
    "bank_connection.created": lambda: {"object": _connection("pending")},
    "bank_connection.updated": lambda: {
        "object": _connection(),
        "previous_attributes": {"status": "pending"},
    },
    "bank_connection.expiring": lambda: {"object": _connection()},
    "bank_connection.expired": lambda: {
        "object": _connection("expired"),
        "previous_attributes": {"status": "linked"},
    },
    "stripe_payment.succeeded": lambda: {"object": _stripe_payment()},
    "stripe_payment.failed": lambda: {
        "object": _stripe_payment(
            status="requires_payment_method",
            amount_received=0,
            fee=None,
            net=None,
            failure_message="Your card was declined.",
            decline_code="generic_decline",
        )
    },
    "refund.created": lambda: {
        "object": _stripe_payment(amount_refunded=23_000),
        "previous_attributes": {"amount_refunded": 0},
    },
    "dispute.created": lambda: {"object": _stripe_payment(dispute_status="needs_response")},
    "dispute.closed": lambda: {
        "object": _stripe_payment(dispute_status="lost"),
        "previous_attributes": {"dispute_status": "needs_response"},
    },
    "stripe_payout.paid": lambda: {
        "object": _stripe_payout(),
        "previous_attributes": {"status": None},
    },
    "stripe_payout.failed": lambda: {
        "object": _stripe_payout(
            status="failed",
            failure_code="account_closed",
            failure_message="The bank account has been closed.",
        ),
        "previous_attributes": {"status": "paid"},
    },
    "webhook_endpoint.disabled": lambda: {"object": _endpoint(enabled=False)},
    "webhook.test": lambda: {"object": _endpoint(), "message": "A test event from Payymo."},
}


def sample(event_type: str) -> SimpleNamespace:
    """A sample event of ``event_type`` for the current tenant (an ``Event``-like object)."""
    return SimpleNamespace(
        id="evt_sample_" + event_type.replace(".", "_"),
        type=event_type,
        created_at=_AT,
        tenant_id=current_tenant_id(),
        request_id=None,
        data=_SAMPLES[event_type](),
    )
