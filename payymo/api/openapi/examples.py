"""An example request and response for every operation in the OpenAPI document.

Responses are not written out by hand: example objects (the attributes a model carries)
are dumped through the operation's own response schema when the document is built, so an
example always has exactly the fields the API answers with. Request bodies and
parameters are written here; the suite sends them to the app and loads them through the
request schemas, so an example that the API would refuse fails a test.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

from apispec import BasePlugin
from marshmallow import class_registry

TENANT_ID = "ten_01M8HB6D5GC56SZ57YDCT4XGFY"
KEY_ID = "key_01M8HB6D6J8ZJ6WQ6VJ1H2M0QK"
NEW_KEY_ID = "key_01M8HBVMFEC1MCXSDBPA11RDDW"
INVOICE_ID = "inv_01M8HB6D8YE3RH5PK6CXR1KY0Z"
INVOICE_2_ID = "inv_01M8HB6D9A4QXPM2C7T5VJ0N8E"
ACCOUNT_ID = "ba_01M8HB6DB0ZQ3S8W4K2N6P5R7T"
TRANSACTION_ID = "txn_01M8HB6DC4H7K2M9P3Q5R8S1V6"
MATCH_ID = "mat_01M8HBAYMV2RQM72ZT2F86FG4S"
SUGGESTION_ID = "sug_01M8HBB17YCVZ0KR9M8NKMTMWV"
EVENT_ID = "evt_01M8HBB1C4AMB7VD6K6GR9T6HJ"
JOB_ID = "job_01M8HBAQERBWXTNWWDXPSWHSDB"
CONNECTION_ID = "bc_01M8HB6D9QW4T2Y7N3B5K8X1ZC"
REQUEST_ID = "req_6f2fa21718df2eb3d006bf81"
ENDPOINT_ID = "we_01M8HBC2D3E4F5G6H7J8K9M0NP"
STRIPE_PAYMENT_ID = "spay_01M8HBD1E2F3G4H5J6K7M8N9PQ"
STRIPE_PAYOUT_ID = "spo_01M8HBD5F6G7H8J9K0M1N2P3QR"
DELIVERY_ID = "del_01M8HBC5F6G7H8J9K0M1N2P3QR"
PARTNER_ENDPOINT_ID = "pwe_01M8HC3A5C7E9G1J3L5N7Q9S1U"

_AT = dt.datetime(2026, 11, 3, 9, 15, 42, tzinfo=dt.UTC)
_LATER = dt.datetime(2026, 11, 3, 9, 16, 5, tzinfo=dt.UTC)


def _obj(**attributes) -> SimpleNamespace:
    return SimpleNamespace(**attributes)


def _listing(*items, sync: bool = False) -> dict:
    page = {"object": "list", "data": list(items), "has_more": False, "next_cursor": None}
    if sync:
        page["next_sync_token"] = None
    return page


TENANT = _obj(
    id=TENANT_ID,
    name="Initech Ltd",
    status="active",
    plan="standard",
    default_currency="GBP",
    effective_settings={
        "auto_match_enabled": True,
        "auto_match_threshold": 0.9,
        "date_window_days": 60,
        "overpayment_tolerance": 0,
        "charge_tolerance": 0,
        "reference_pattern": None,
    },
    created_at=_AT,
    updated_at=_LATER,
)
PARTNER_ID = "ptn_01M8HC2Q9T4V6X8Z0B2D4F6H8J"
PARTNER_TENANT = _obj(
    **vars(TENANT),
    partner_id=PARTNER_ID,
    usage=_obj(
        month_transaction_count=1_284,
        bank_connections={
            "pending": 0,
            "linked": 2,
            "expired": 1,
            "suspended": 0,
            "error": 0,
            "revoked": 0,
        },
        last_synced_at=_LATER,
        auto_match_rate=0.8731,
    ),
)
BRANDING = {
    "object": "partner_branding",
    "name": "Ledgerly Pay",
    "logo_url": "https://cdn.ledgerly.example/logo.svg",
    "primary_color": "#1a73e8",
    "support_email": "help@ledgerly.example",
    "custom_domain": "pay.ledgerly.example",
}
API_KEY = _obj(
    id=KEY_ID,
    name="crm sync",
    mode="live",
    prefix="pym_live_7K_RUg",
    scopes=["invoices:read", "invoices:write"],
    created_at=_AT,
    last_used_at=_LATER,
    expires_at=None,
    revoked_at=None,
    rolled_to_id=None,
)
NEW_API_KEY = _obj(
    key=_obj(
        **{**vars(API_KEY), "id": NEW_KEY_ID, "prefix": "pym_live_Qm4MRu", "last_used_at": None}
    ),
    secret="pym_live_Qm4MRuzfk3YE-OvaA7K_RUg3mLPFfEsJBCiPHFnexAP",  # noqa: S106 (an example)
)
REVOKED_API_KEY = _obj(**{**vars(API_KEY), "revoked_at": _LATER})
INVOICE = _obj(
    id=INVOICE_ID,
    external_id="ERP-1042",
    number="INV-1042",
    customer_name="Globex Corporation",
    customer_email="finance@globex.example",
    customer_reference="CUST-77",
    amount_due=45_050,
    amount_paid=0,
    amount_charged=0,
    amount_remaining=45_050,
    currency="GBP",
    issue_date=dt.date(2026, 11, 1),
    due_date=dt.date(2026, 12, 1),
    status="open",
    dispute_status=None,
    metadata_={"crm_deal": "D-311"},
    voided_at=None,
    created_at=_AT,
    updated_at=_AT,
)
PAID_INVOICE = _obj(
    **{**vars(INVOICE), "amount_paid": 45_050, "amount_remaining": 0, "status": "paid"}
)
VOIDED_INVOICE = _obj(**{**vars(INVOICE), "amount_remaining": 0, "status": "void"})
VOIDED_INVOICE.voided_at = _LATER
ACCOUNT = _obj(
    id=ACCOUNT_ID,
    kind="manual",
    name="Main GBP",
    currency="GBP",
    iban="GB33BUKB20201555555555",
    created_at=_AT,
    updated_at=_AT,
)
TRANSACTION = _obj(
    id=TRANSACTION_ID,
    account_id=ACCOUNT_ID,
    provider_id="stmt-2026-11-03-1",
    status="booked",
    booking_date=dt.date(2026, 11, 3),
    value_date=dt.date(2026, 11, 3),
    amount=45_050,
    amount_allocated=45_050,
    currency="GBP",
    counterparty_name="GLOBEX CORPORATION",
    counterparty_iban="GB29NWBK60161331926819",
    remittance_information="Payment INV-1042 thank you",
    end_to_end_id="E2E-20261103-0001",
    match_status="matched",
    category="sales",
    notes=None,
    created_at=_AT,
    updated_at=_LATER,
)
# A line shows its invoice as it is now: paid by the live match, owed again once reversed.
_ALLOCATION = _obj(
    invoice_id=INVOICE_ID, amount=45_050, charge=0, currency="GBP", invoice=PAID_INVOICE
)
_REASONS = [
    {"code": "reference_exact", "text": "Remittance names invoice INV-1042"},
    {"code": "amount_exact", "text": "Amount equals the invoice's open amount"},
]
MATCH = _obj(
    id=MATCH_ID,
    transaction_id=TRANSACTION_ID,
    allocations=[_ALLOCATION],
    amount=45_050,
    currency="GBP",
    method="manual",
    confidence=None,
    reasons=[],
    status="active",
    created_by=KEY_ID,
    created_at=_LATER,
    reversed_at=None,
    reversed_by=None,
    suggestion_id=None,
)
REVERSED_MATCH = _obj(
    **{
        **vars(MATCH),
        "allocations": [_obj(**{**vars(_ALLOCATION), "invoice": INVOICE})],
        "status": "reversed",
        "reversed_by": KEY_ID,
    }
)
REVERSED_MATCH.reversed_at = _LATER
SUGGESTION = _obj(
    id=SUGGESTION_ID,
    transaction_id=TRANSACTION_ID,
    allocations=[{"invoice_id": INVOICE_ID, "amount": 45_050, "charge": 0, "currency": "GBP"}],
    shown_invoices={INVOICE_ID: INVOICE},
    currency="GBP",
    confidence=0.82,
    reasons=[*_REASONS[1:], {"code": "payer_name", "text": "Payer name matches the customer"}],
    status="open",
    rank=1,
    created_at=_AT,
    decided_at=None,
    decided_by=None,
    match_id=None,
)
ACCEPTED_SUGGESTION = _obj(
    **{
        **vars(SUGGESTION),
        "shown_invoices": {INVOICE_ID: PAID_INVOICE},
        "status": "accepted",
        "decided_by": KEY_ID,
        "match_id": MATCH_ID,
    }
)
ACCEPTED_SUGGESTION.decided_at = _LATER
REJECTED_SUGGESTION = _obj(**{**vars(SUGGESTION), "status": "rejected", "decided_by": KEY_ID})
REJECTED_SUGGESTION.decided_at = _LATER
# What POST /reconciliation/test_pattern answers for its example request.
_PATTERN_TEST = {
    "references": ["INV-20240042"],
    "captures": [
        {"captured": "RE-20240042", "normalized": "INV-20240042", "without_prefix": "20240042"}
    ],
}
EVENT = _obj(
    id=EVENT_ID,
    type="invoice.paid",
    tenant_id=TENANT_ID,
    data={"object": {"id": INVOICE_ID, "object": "invoice", "status": "paid"}},
    created_at=_LATER,
    request_id=REQUEST_ID,
)
ENDPOINT = _obj(
    id=ENDPOINT_ID,
    url="https://hooks.zapier.com/hooks/standard/123456/abcdef/",
    event_types=["invoice.paid", "bank_connection.expired"],
    description="Zapier: paid invoices to the CRM",
    enabled=True,
    disabled_reason=None,
    previous_secret_expires_at=None,
    failing_since=None,
    created_at=_AT,
    updated_at=_AT,
)
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw5Ov+1hG7P1c="  # noqa: S105 (an example)
NEW_ENDPOINT = {
    **{k: v for k, v in vars(ENDPOINT).items()},
    "object": "webhook_endpoint",
    "secret": _SECRET,
}
ROTATED_ENDPOINT = {**NEW_ENDPOINT, "previous_secret_expires_at": _LATER + dt.timedelta(days=1)}
DELIVERY = {
    "id": DELIVERY_ID,
    "endpoint_id": ENDPOINT_ID,
    "tenant_id": TENANT_ID,
    "event_id": EVENT_ID,
    "event_type": "invoice.paid",
    "status": "delivered",
    "attempt_count": 2,
    "next_attempt_at": None,
    "delivered_at": _LATER + dt.timedelta(seconds=6),
    "last_status_code": 200,
    "last_error": None,
    "created_at": _LATER,
    "attempts": [
        {
            "number": 1,
            "attempted_at": _LATER,
            "status_code": 503,
            "duration_ms": 212,
            "response_excerpt": "Service Unavailable",
            "error": None,
        },
        {
            "number": 2,
            "attempted_at": _LATER + dt.timedelta(seconds=6),
            "status_code": 200,
            "duration_ms": 48,
            "response_excerpt": '{"status":"success"}',
            "error": None,
        },
    ],
}
TEST_DELIVERY = {
    **DELIVERY,
    "event_type": "webhook.test",
    "status": "pending",
    "attempt_count": 0,
    "next_attempt_at": _LATER,
    "delivered_at": None,
    "last_status_code": None,
    "attempts": [],
}
REDELIVERY = {**TEST_DELIVERY, "event_type": "invoice.paid", "attempt_count": 2}
PARTNER_ENDPOINT = _obj(
    **{
        **vars(ENDPOINT),
        "id": PARTNER_ENDPOINT_ID,
        "url": "https://api.ledgerly.example/payymo/events",
        "event_types": ["invoice.paid", "transaction.matched", "bank_connection.expired"],
        "description": "Ledgerly: every client's payments",
    }
)
NEW_PARTNER_ENDPOINT = {**vars(PARTNER_ENDPOINT), "object": "webhook_endpoint", "secret": _SECRET}
PARTNER_DELIVERY = {**DELIVERY, "endpoint_id": PARTNER_ENDPOINT_ID}
PARTNER_TEST_DELIVERY = {**TEST_DELIVERY, "endpoint_id": PARTNER_ENDPOINT_ID}
EXAMPLE_CLIENT_SECRET = "pi_3QHjvX2eZvKYlo2C1a2b3c4d_secret_x9Yz"  # noqa: S105 (an example)
STRIPE_LINKED = {
    "status": "linked",
    "key_hint": "sk_test_…4242",
    "livemode": False,
    "webhook_url": f"https://api.payymo.example/webhooks/stripe/{TENANT_ID}",
    "linked_at": "2026-11-03T09:15:42+00:00",
    "last_synced_at": None,
}
STRIPE_UNLINKED = {
    **STRIPE_LINKED,
    "status": "not_linked",
    "key_hint": None,
    "livemode": None,
    "linked_at": None,
}
STRIPE_PAYMENT = _obj(
    id=STRIPE_PAYMENT_ID,
    stripe_id="pi_3QHjvX2eZvKYlo2C1a2b3c4d",
    invoice_id=INVOICE_ID,
    status="succeeded",
    amount=12_300,
    amount_received=12_300,
    amount_refunded=0,
    fee=387,
    net=11_913,
    currency="GBP",
    customer=None,
    description="Invoice INV-1042",
    charge_id="ch_3QHjvX2eZvKYlo2C1e2f3g4h",
    dispute_status=None,
    failure_message=None,
    decline_code=None,
    stripe_created=_AT,
    created_at=_AT,
    updated_at=_AT,
)
STRIPE_PAYOUT = _obj(
    id=STRIPE_PAYOUT_ID,
    stripe_id="po_1QHkA22eZvKYlo2CzYxWvUts",
    status="paid",
    amount=11_913,
    currency="GBP",
    arrival_date=dt.date(2026, 11, 5),
    automatic=True,
    reconciliation_status="completed",
    trace_id="TRACE4F2A9C1B7E",
    failure_code=None,
    failure_message=None,
    breakdown={
        "charges": 12_300,
        "charge_count": 1,
        "refunds": 0,
        "refund_count": 0,
        "disputes": 0,
        "dispute_count": 0,
        "other": 0,
        "fees": 387,
        "net": 11_913,
        "invoices": [{"invoice_id": INVOICE_ID, "invoice_number": "INV-1042", "amount": 12_300}],
    },
    breakdown_source="payout",
    bank_transaction_id=None,
    stripe_created=_LATER,
    created_at=_LATER,
    updated_at=_LATER,
)
# A bank credit matched to the payout it is: a payout line instead of invoice lines.
PAYOUT_MATCH = _obj(
    **{
        **vars(MATCH),
        "allocations": [],
        "payout_lines": [
            _obj(
                payout_id=STRIPE_PAYOUT_ID,
                amount=11_913,
                currency="GBP",
                status="active",
                payout=STRIPE_PAYOUT,
            )
        ],
        "amount": 11_913,
        "reasons": [{"code": "manual", "text": "Matched to the payout by hand."}],
    }
)
QUEUED_JOB = _obj(
    id=JOB_ID,
    type="reconcile",
    subject_id=None,
    status="queued",
    result=None,
    error=None,
    created_at=_AT,
    started_at=None,
    finished_at=None,
    attempts=0,
    next_attempt_at=None,
)
FINISHED_JOB = _obj(
    **{
        **vars(QUEUED_JOB),
        "status": "succeeded",
        "result": {
            "mode": "incremental",
            "passes": 1,
            "transactions_considered": 10,
            "invoices_considered": 8,
            "auto_matched": 6,
            "suggested": 2,
            "skipped_conflicts": 0,
            "unmatched": 2,
            "payouts_matched": 1,
        },
        "started_at": _AT,
        "finished_at": _LATER,
        "attempts": 1,
    }
)


SYNC_JOB = _obj(**{**vars(QUEUED_JOB), "type": "bank_sync", "subject_id": CONNECTION_ID})
INSTITUTION = _obj(
    id="SANDBOXFINANCE_SFIN0000",
    name="Sandbox Finance",
    bic="SFIN0000",
    countries=["GB"],
    logo="https://cdn.nordigen.com/ais/SANDBOXFINANCE_SFIN0000.png",
    max_history_days=730,
    max_access_days=180,
)
PENDING_CONNECTION = {
    "object": "bank_connection",
    "id": CONNECTION_ID,
    "provider": "gocardless",
    "institution_id": "SANDBOXFINANCE_SFIN0000",
    "institution_name": "Sandbox Finance",
    "status": "pending",
    "link": "https://ob.gocardless.com/psd2/start/3fa85f64-5717-4562-b3fc-2c963f66afa6/SANDBOXFINANCE_SFIN0000",
    "redirect_url": "https://billing.example.com/banks/done",
    "max_historical_days": 730,
    "access_valid_for_days": 180,
    "linked_at": None,
    "access_expires_at": None,
    "last_synced_at": None,
    "next_sync_at": None,
    "last_error": None,
    "last_error_code": None,
    "accounts": [],
    "created_at": _AT.isoformat(),
    "updated_at": _AT.isoformat(),
}
LINKED_CONNECTION = {
    **PENDING_CONNECTION,
    "status": "linked",
    "link": None,
    "linked_at": _AT.isoformat(),
    "access_expires_at": "2027-05-02T09:15:42+00:00",
    "last_synced_at": _LATER.isoformat(),
    "next_sync_at": "2026-11-03T15:16:05+00:00",
    "accounts": [
        {
            "id": ACCOUNT_ID,
            "name": "Main GBP",
            "iban": "GB33BUKB20201555555555",
            "currency": "GBP",
            "owner_name": "Initech Ltd",
            "linked": True,
            "balances": [
                {
                    "kind": "closingBooked",
                    "amount": 1_913_12,
                    "amount_display": "1913.12",
                    "currency": "GBP",
                    "reference_date": "2026-11-02",
                }
            ],
            "balances_updated_at": _LATER.isoformat(),
            "last_synced_at": _LATER.isoformat(),
        }
    ],
}
_CREDENTIALS = {
    "provider": "gocardless",
    "fields": ["secret_id", "secret_key"],
    "configured": True,
    "source": "tenant",
    "credentials": {"secret_id": "…9f3a", "secret_key": "…b71c"},
}
_PLATFORM_CREDENTIALS = {**_CREDENTIALS, "source": "platform", "credentials": {}}
REVOKED_CONNECTION = {**LINKED_CONNECTION, "status": "revoked", "next_sync_at": None}


def _bucket(currency="GBP", count=10, amount_in=250_000, amount_out=62_000, **key):
    return {
        **key,
        "currency": currency,
        "count": count,
        "amount": amount_in - amount_out,
        "amount_in": amount_in,
        "amount_out": amount_out,
    }


STATS = {
    "count": 10,
    "by_currency": [_bucket()],
    "by_match_status": [
        _bucket(count=4, amount_in=250_000, amount_out=0, match_status="matched"),
        _bucket(count=6, amount_in=0, amount_out=62_000, match_status="unmatched"),
    ],
    "by_direction": [
        _bucket(count=4, amount_in=250_000, amount_out=0, direction="in"),
        _bucket(count=6, amount_in=0, amount_out=62_000, direction="out"),
    ],
    "by_month": [_bucket(month="2026-11")],
}


def _amounts(count, amount):
    return {"count": count, "amount": amount, "currency": "GBP"}


SUMMARY = {
    "credit_count": 6,
    "credits": [
        {
            "currency": "GBP",
            "count": 6,
            "amount": 472_200,
            "amount_allocated": 470_050,
            "amount_unallocated": 2_150,
            "matched": _amounts(4, 430_050),
            "partially_matched": _amounts(1, 40_000),
            "suggested": _amounts(0, 0),
            "unmatched": _amounts(1, 2_150),
            "ignored": _amounts(0, 0),
        }
    ],
    "matches": {"active": 5, "auto": 4, "manual": 1, "suggestion": 0, "reversed": 0},
    "auto_match_rate": 0.8,
    "auto_matched_credit_rate": 0.6667,
    "open_suggestions": 0,
    "open_invoice_count": 6,
    "open_invoices": [
        {
            "currency": "GBP",
            "count": 6,
            "amount_remaining": 608_520,
            "open": _amounts(5, 570_100),
            "partially_paid": _amounts(1, 38_420),
        }
    ],
}
_ROW_ERROR = {
    "type": "invalid_request_error",
    "code": "parameter_invalid",
    "message": "Invalid amount_due: Not a valid integer.",
    "param": "invoices[1].amount_due",
}
BATCH_RESULT = {
    "counts": {"created": 1, "updated": 1, "unchanged": 0, "error": 0},
    "results": [
        {"index": 0, "external_id": "ERP-1042", "status": "updated", "id": INVOICE_ID},
        {"index": 1, "external_id": "ERP-1043", "status": "created", "id": INVOICE_2_ID},
    ],
}
BATCH_PARTIAL = {
    "counts": {"created": 1, "updated": 0, "unchanged": 0, "error": 1},
    "results": [
        {"index": 0, "external_id": "ERP-1042", "status": "created", "id": INVOICE_ID},
        {"index": 1, "external_id": "ERP-1043", "status": "error", "error": _ROW_ERROR},
    ],
}
IMPORT_RESULT = {
    "account_id": ACCOUNT_ID,
    "counts": {"created": 1, "duplicate": 1, "error": 0},
    "results": [
        {"index": 0, "status": "created", "id": TRANSACTION_ID},
        {"index": 1, "status": "duplicate", "id": "txn_01M8HB6DC9Z2W4X6Y8A1B3C5D7"},
    ],
}
IMPORT_PARTIAL = {
    "account_id": ACCOUNT_ID,
    "counts": {"created": 1, "duplicate": 0, "error": 1},
    "results": [
        {"index": 0, "status": "created", "id": TRANSACTION_ID},
        {
            "index": 1,
            "status": "error",
            "error": {**_ROW_ERROR, "param": "transactions[1].amount"},
        },
    ],
}
_BALANCE = {"amount": 125_000, "currency": "EUR", "date": dt.date(2026, 10, 31)}
STATEMENT_RESULT = {
    "account_id": ACCOUNT_ID,
    "format": "camt.053",
    "counts": {"created": 1, "duplicate": 1, "error": 0},
    "results": IMPORT_RESULT["results"],
    "opening_balance": _BALANCE,
    "closing_balance": {**_BALANCE, "amount": 137_300, "date": dt.date(2026, 11, 30)},
    "warnings": [],
}
STATEMENT_PARTIAL = {
    **STATEMENT_RESULT,
    "format": "csv",
    "counts": {"created": 1, "duplicate": 0, "error": 1},
    "results": [
        {"index": 0, "status": "created", "id": TRANSACTION_ID},
        {
            "index": 1,
            "status": "error",
            "error": {
                **_ROW_ERROR,
                "code": "line_unreadable",
                "message": "line 3: date '31/02/2026' is not a date",
                "param": "lines[1]",
            },
        },
    ],
    "opening_balance": None,
    "closing_balance": None,
}

_V1 = "/api/v1"
# "METHOD path" → {status: what the response schema dumps}
RESPONSES: dict[str, dict[int, object]] = {
    f"GET {_V1}/tenant": {200: TENANT},
    f"PATCH {_V1}/tenant": {200: TENANT},
    f"GET {_V1}/api_keys": {200: _listing(API_KEY)},
    f"POST {_V1}/api_keys": {201: NEW_API_KEY},
    f"GET {_V1}/api_keys/{{key_id}}": {200: API_KEY},
    f"DELETE {_V1}/api_keys/{{key_id}}": {200: REVOKED_API_KEY},
    f"POST {_V1}/api_keys/{{key_id}}/roll": {201: NEW_API_KEY},
    f"GET {_V1}/invoices": {200: _listing(INVOICE, sync=True)},
    f"POST {_V1}/invoices": {201: INVOICE},
    f"GET {_V1}/invoices/{{invoice_id}}": {200: PAID_INVOICE},
    f"PATCH {_V1}/invoices/{{invoice_id}}": {200: INVOICE},
    f"POST {_V1}/invoices/{{invoice_id}}/void": {200: VOIDED_INVOICE},
    f"POST {_V1}/invoices/batch": {200: BATCH_RESULT, 207: BATCH_PARTIAL},
    f"GET {_V1}/bank_accounts": {200: _listing(ACCOUNT)},
    f"POST {_V1}/bank_accounts": {201: ACCOUNT},
    f"POST {_V1}/bank_accounts/{{bank_account_id}}/statements": {
        201: STATEMENT_RESULT,
        207: STATEMENT_PARTIAL,
    },
    f"GET {_V1}/bank_accounts/{{bank_account_id}}": {200: ACCOUNT},
    f"GET {_V1}/transactions": {200: _listing(TRANSACTION, sync=True)},
    f"GET {_V1}/transactions/stats": {200: STATS},
    f"POST {_V1}/transactions/import": {200: IMPORT_RESULT, 207: IMPORT_PARTIAL},
    f"GET {_V1}/transactions/{{transaction_id}}": {200: TRANSACTION},
    f"PUT {_V1}/transactions/{{transaction_id}}": {200: TRANSACTION},
    f"PATCH {_V1}/transactions/{{transaction_id}}": {200: TRANSACTION},
    f"GET {_V1}/events": {200: _listing(EVENT, sync=True)},
    f"GET {_V1}/events/{{event_id}}": {200: EVENT},
    f"GET {_V1}/events/types": {
        200: {"data": [{"event_type": "invoice.paid", "description": "An invoice is paid."}]}
    },
    f"GET {_V1}/events/samples/{{event_type}}": {200: EVENT},
    f"POST {_V1}/events/{{event_id}}/redeliver": {202: {"data": [REDELIVERY]}},
    f"GET {_V1}/integrations/stripe": {200: STRIPE_LINKED},
    f"PUT {_V1}/integrations/stripe": {200: STRIPE_LINKED},
    f"DELETE {_V1}/integrations/stripe": {200: STRIPE_UNLINKED},
    f"GET {_V1}/stripe/payments": {200: _listing(STRIPE_PAYMENT)},
    f"POST {_V1}/stripe/payments": {
        201: _obj(payment=STRIPE_PAYMENT, client_secret=EXAMPLE_CLIENT_SECRET)
    },
    f"GET {_V1}/stripe/payments/{{payment_id}}": {200: STRIPE_PAYMENT},
    f"GET {_V1}/stripe/payouts": {200: _listing(STRIPE_PAYOUT)},
    f"POST {_V1}/stripe/sync": {202: _obj(**{**vars(QUEUED_JOB), "type": "stripe_sync"})},
    f"GET {_V1}/stripe/payouts/{{payout_id}}": {200: STRIPE_PAYOUT},
    f"POST {_V1}/stripe/payouts/{{payout_id}}/match": {201: PAYOUT_MATCH},
    f"GET {_V1}/partner/tenants": {200: _listing(PARTNER_TENANT)},
    f"POST {_V1}/partner/tenants": {
        201: {
            "tenant": _obj(**{**vars(PARTNER_TENANT), "usage": None}),
            "api_key": "pym_live_3kQ9vX2mT8pL1nR5wZ7yB4cD6fH0jS2uA9eG3iK5oM7",
        }
    },
    f"GET {_V1}/partner/tenants/{{tenant_id}}": {200: PARTNER_TENANT},
    f"PATCH {_V1}/partner/tenants/{{tenant_id}}": {
        200: _obj(**{**vars(PARTNER_TENANT), "status": "suspended", "usage": None})
    },
    f"DELETE {_V1}/partner/tenants/{{tenant_id}}": {
        200: _obj(
            id="off_01M8HC7W2Y4A6C8E0G2J4L6N8Q",
            tenant_id=TENANT_ID,
            tenant_name="Initech Ltd",
            offboarded_at=_LATER,
            purge_after=_LATER + dt.timedelta(days=30),
            purged_at=None,
            unrevoked_connections=[],
        )
    },
    f"POST {_V1}/partner/tenants/{{tenant_id}}/portal_sessions": {
        201: {
            "object": "portal_session",
            "url": "https://api.payymo.example/portal/sign-in/q3Xv9b…(one-time token)",
            "expires_at": _LATER,
        }
    },
    f"GET {_V1}/partner/webhook_endpoints": {200: _listing(PARTNER_ENDPOINT)},
    f"POST {_V1}/partner/webhook_endpoints": {201: NEW_PARTNER_ENDPOINT},
    f"GET {_V1}/partner/webhook_endpoints/{{endpoint_id}}": {200: PARTNER_ENDPOINT},
    f"PATCH {_V1}/partner/webhook_endpoints/{{endpoint_id}}": {200: PARTNER_ENDPOINT},
    f"DELETE {_V1}/partner/webhook_endpoints/{{endpoint_id}}": {200: {"id": PARTNER_ENDPOINT_ID}},
    f"POST {_V1}/partner/webhook_endpoints/{{endpoint_id}}/rotate_secret": {
        200: {**NEW_PARTNER_ENDPOINT, "previous_secret_expires_at": _LATER + dt.timedelta(days=1)}
    },
    f"POST {_V1}/partner/webhook_endpoints/{{endpoint_id}}/test": {202: PARTNER_TEST_DELIVERY},
    f"GET {_V1}/partner/webhook_endpoints/{{endpoint_id}}/deliveries": {
        200: _listing(PARTNER_DELIVERY)
    },
    f"GET {_V1}/partner/branding": {200: BRANDING},
    f"PUT {_V1}/partner/branding": {200: BRANDING},
    "POST /webhooks/stripe/{tenant_id}": {200: {"duplicate": False}},
    f"GET {_V1}/webhook_endpoints": {200: _listing(ENDPOINT)},
    f"POST {_V1}/webhook_endpoints": {201: NEW_ENDPOINT},
    f"GET {_V1}/webhook_endpoints/{{endpoint_id}}": {200: ENDPOINT},
    f"PATCH {_V1}/webhook_endpoints/{{endpoint_id}}": {200: ENDPOINT},
    f"DELETE {_V1}/webhook_endpoints/{{endpoint_id}}": {200: {"id": ENDPOINT_ID}},
    f"POST {_V1}/webhook_endpoints/{{endpoint_id}}/rotate_secret": {200: ROTATED_ENDPOINT},
    f"POST {_V1}/webhook_endpoints/{{endpoint_id}}/test": {202: TEST_DELIVERY},
    f"GET {_V1}/webhook_endpoints/{{endpoint_id}}/deliveries": {200: _listing(DELIVERY)},
    f"GET {_V1}/reconciliation": {200: SUMMARY},
    f"GET {_V1}/reconciliation/suggestions": {200: _listing(SUGGESTION)},
    f"GET {_V1}/reconciliation/suggestions/{{suggestion_id}}": {200: SUGGESTION},
    f"POST {_V1}/reconciliation/suggestions/{{suggestion_id}}/accept": {200: ACCEPTED_SUGGESTION},
    f"POST {_V1}/reconciliation/suggestions/{{suggestion_id}}/reject": {200: REJECTED_SUGGESTION},
    f"GET {_V1}/reconciliation/matches": {200: _listing(MATCH)},
    f"POST {_V1}/reconciliation/matches": {201: MATCH},
    f"POST {_V1}/reconciliation/match": {201: MATCH},
    f"GET {_V1}/reconciliation/matches/{{match_id}}": {200: MATCH},
    f"DELETE {_V1}/reconciliation/matches/{{match_id}}": {200: REVERSED_MATCH},
    f"DELETE {_V1}/reconciliation/match/{{match_id}}": {200: REVERSED_MATCH},
    f"POST {_V1}/reconciliation/test_pattern": {200: _PATTERN_TEST},
    f"POST {_V1}/reconciliation/run": {202: QUEUED_JOB},
    f"GET {_V1}/institutions": {200: {"data": [INSTITUTION], "has_more": False}},
    f"GET {_V1}/bank_connections": {200: _listing(LINKED_CONNECTION)},
    f"POST {_V1}/bank_connections": {201: PENDING_CONNECTION},
    f"GET {_V1}/bank_connections/{{connection_id}}": {200: LINKED_CONNECTION},
    f"DELETE {_V1}/bank_connections/{{connection_id}}": {200: REVOKED_CONNECTION},
    f"POST {_V1}/bank_connections/{{connection_id}}/refresh": {202: SYNC_JOB},
    f"POST {_V1}/bank_connections/{{connection_id}}/reconnect": {200: PENDING_CONNECTION},
    f"GET {_V1}/integrations/{{provider}}": {200: _CREDENTIALS},
    f"PUT {_V1}/integrations/{{provider}}": {200: _CREDENTIALS},
    f"DELETE {_V1}/integrations/{{provider}}": {200: _PLATFORM_CREDENTIALS},
    f"GET {_V1}/jobs": {200: _listing(FINISHED_JOB)},
    f"GET {_V1}/jobs/{{job_id}}": {200: FINISHED_JOB},
}

_MATCH_BODY = {
    "transaction_id": TRANSACTION_ID,
    "allocations": [{"invoice_id": INVOICE_ID, "amount": 45_050}],
}
_INVOICE_BODY = {
    "external_id": "ERP-1042",
    "number": "INV-1042",
    "customer_name": "Globex Corporation",
    "customer_email": "finance@globex.example",
    "customer_reference": "CUST-77",
    "amount_due": 45_050,
    "currency": "GBP",
    "issue_date": "2026-11-01",
    "due_date": "2026-12-01",
    "metadata": {"crm_deal": "D-311"},
}
# "METHOD path" → request body
REQUESTS: dict[str, dict] = {
    f"PATCH {_V1}/tenant": {
        "name": "Initech Ltd",
        "settings": {"auto_match_threshold": 0.9, "date_window_days": 60},
    },
    f"POST {_V1}/api_keys": {"name": "crm sync", "scopes": ["invoices:read", "invoices:write"]},
    f"POST {_V1}/api_keys/{{key_id}}/roll": {"expires_in_hours": 24},
    f"POST {_V1}/invoices": _INVOICE_BODY,
    f"PATCH {_V1}/invoices/{{invoice_id}}": {"due_date": "2026-12-15", "amount_due": 45_050},
    f"POST {_V1}/invoices/batch": {
        "invoices": [
            _INVOICE_BODY,
            {
                "external_id": "ERP-1043",
                "number": "INV-1043",
                "customer_name": "Umbrella Trading",
                "amount_due": 9_999,
                "currency": "GBP",
            },
        ]
    },
    f"POST {_V1}/bank_accounts": {
        "name": "Main GBP",
        "currency": "GBP",
        "iban": "GB33 BUKB 2020 1555 5555 55",
    },
    f"POST {_V1}/transactions/import": {
        "account_id": ACCOUNT_ID,
        "transactions": [
            {
                "id": "stmt-2026-11-03-1",
                "booking_date": "2026-11-03",
                "amount": 45_050,
                "currency": "GBP",
                "counterparty_name": "GLOBEX CORPORATION",
                "counterparty_iban": "GB29NWBK60161331926819",
                "remittance_information": "Payment INV-1042 thank you",
            },
            {
                "booking_date": "2026-11-04",
                "amount": -4_320,
                "currency": "GBP",
                "counterparty_name": "Amazon Web Services",
                "remittance_information": "AWS monthly bill",
            },
        ],
    },
    f"PUT {_V1}/transactions/{{transaction_id}}": {"category": "sales", "notes": None},
    f"PATCH {_V1}/transactions/{{transaction_id}}": {"category": "sales"},
    f"POST {_V1}/reconciliation/matches": _MATCH_BODY,
    f"POST {_V1}/reconciliation/match": _MATCH_BODY,
    f"POST {_V1}/reconciliation/test_pattern": {
        "pattern": "(?P<ref>RE-\\d{4,})",
        "text": "payment RE-20240042 thanks",
    },
    f"POST {_V1}/reconciliation/run": {},
    f"PUT {_V1}/integrations/{{provider}}": {
        "secret_id": "8c7e1f0a-2b4d-4e6f-9a1b-3c5d7e9f3a",
        "secret_key": "5f2a…(the secret key GoCardless showed once)…b71c",
    },
    f"POST {_V1}/bank_connections": {
        "institution_id": "SANDBOXFINANCE_SFIN0000",
        "redirect_url": "https://billing.example.com/banks/done",
    },
    f"POST {_V1}/webhook_endpoints": {
        "url": "https://hooks.zapier.com/hooks/standard/123456/abcdef/",
        "event_types": ["invoice.paid", "bank_connection.expired"],
        "description": "Zapier: paid invoices to the CRM",
    },
    f"PATCH {_V1}/webhook_endpoints/{{endpoint_id}}": {"enabled": True},
    f"PUT {_V1}/integrations/stripe": {
        "api_key": "sk_test_51Hx…(your secret or restricted key)…4242",
        "webhook_secret": "whsec_…(the signing secret of your Stripe webhook endpoint)",
    },
    f"POST {_V1}/stripe/payments": {"invoice_id": INVOICE_ID, "payment_method": "pm_card_visa"},
    f"POST {_V1}/stripe/payouts/{{payout_id}}/match": {"transaction_id": TRANSACTION_ID},
    f"POST {_V1}/partner/tenants": {
        "name": "Initech Ltd",
        "currency": "GBP",
        "settings": {"auto_match_threshold": 0.9},
    },
    f"PATCH {_V1}/partner/tenants/{{tenant_id}}": {"status": "suspended"},
    f"PUT {_V1}/partner/branding": {k: v for k, v in BRANDING.items() if k != "object"},
    f"POST {_V1}/partner/tenants/{{tenant_id}}/portal_sessions": {
        "return_url": "https://app.ledgerly.example/clients/42",
        "expires_in": 900,
    },
    f"POST {_V1}/events/{{event_id}}/redeliver": {"endpoint_id": ENDPOINT_ID},
    f"POST {_V1}/partner/webhook_endpoints": {
        "url": "https://api.ledgerly.example/payymo/events",
        "event_types": ["invoice.paid", "transaction.matched", "bank_connection.expired"],
        "description": "Ledgerly: every client's payments",
    },
    f"PATCH {_V1}/partner/webhook_endpoints/{{endpoint_id}}": {"enabled": True},
    f"POST {_V1}/partner/webhook_endpoints/{{endpoint_id}}/test": {"tenant_id": TENANT_ID},
}

# Parameter name → example; per-operation values where a name means different things.
PARAMETERS: dict[str, object] = {
    "key_id": KEY_ID,
    "invoice_id": INVOICE_ID,
    "bank_account_id": ACCOUNT_ID,
    "transaction_id": TRANSACTION_ID,
    "event_id": EVENT_ID,
    "suggestion_id": SUGGESTION_ID,
    "match_id": MATCH_ID,
    "job_id": JOB_ID,
    "connection_id": CONNECTION_ID,
    "provider": "gocardless",
    "country": "GB",
    "state": "Yk3h2R0m1xq7bC9vT5wQp8sLz4nJ6dFa",
    "account_id": ACCOUNT_ID,
    "limit": 25,
    "sync_token": "0",
    "currency": "GBP",
    "customer": "globex",
    "customer_reference": "CUST-77",
    "external_id": "ERP-1042",
    "issue_date_from": "2026-10-01",
    "issue_date_to": "2026-10-31",
    "due_date_from": "2026-11-01",
    "due_date_to": "2026-11-30",
    "updated_since": "2026-11-01T00:00:00Z",
    "booking_date_from": "2026-11-01",
    "booking_date_to": "2026-11-30",
    "amount_min": 10_000,
    "amount_max": 100_000,
    "q": "INV-1042",
    "match_status": "unmatched",
    "direction": "in",
    "kind": "manual",
    "iban": "GB33BUKB20201555555555",
    "method": "manual",
    "type": "invoice.paid",
    "event_type": "invoice.paid",
    "endpoint_id": ENDPOINT_ID,
    "payment_id": STRIPE_PAYMENT_ID,
    "payout_id": STRIPE_PAYOUT_ID,
    "tenant_id": TENANT_ID,
    "created_from": "2026-11-01T00:00:00Z",
    "created_to": "2026-12-01T00:00:00Z",
}
_BY_OPERATION = {
    ("GET", "/invoices", "status"): "open",
    ("GET", "/transactions", "status"): "booked",
    ("GET", "/transactions/stats", "status"): "booked",
    ("GET", "/reconciliation/suggestions", "status"): "open",
    ("GET", "/reconciliation/matches", "status"): "active",
    ("GET", "/jobs", "status"): "succeeded",
    ("GET", "/jobs", "type"): "reconcile",
    ("GET", "/bank_connections", "status"): "linked",
    ("GET", "/webhook_endpoints/{endpoint_id}/deliveries", "status"): "failed",
    ("GET", "/stripe/payments", "status"): "succeeded",
    ("GET", "/stripe/payouts", "status"): "paid",
    ("GET", "/partner/tenants", "status"): "active",
    ("GET", "/webhook_endpoints/{endpoint_id}/deliveries", "event_id"): EVENT_ID,
    ("GET", "/partner/webhook_endpoints/{endpoint_id}/deliveries", "status"): "failed",
}


def parameter_example(method: str, path: str, name: str):
    """The example for one parameter of an operation (KeyError when there is none)."""
    if name == "endpoint_id" and path.startswith(f"{_V1}/partner/"):
        return PARTNER_ENDPOINT_ID
    for (m, suffix, n), value in _BY_OPERATION.items():
        if (m, n) == (method, name) and path == _V1 + suffix:
            return value
    if name in ("starting_after", "ending_before"):
        return _first_id_for(path)
    return PARAMETERS[name]


_PREFIXES = {
    "api_keys": KEY_ID,
    "invoices": INVOICE_ID,
    "bank_accounts": ACCOUNT_ID,
    "transactions": TRANSACTION_ID,
    "events": EVENT_ID,
    "suggestions": SUGGESTION_ID,
    "matches": MATCH_ID,
    "jobs": JOB_ID,
    "bank_connections": CONNECTION_ID,
    "webhook_endpoints": ENDPOINT_ID,
    "deliveries": DELIVERY_ID,
    "payments": STRIPE_PAYMENT_ID,
    "payouts": STRIPE_PAYOUT_ID,
    "tenants": TENANT_ID,
}


def _first_id_for(path: str) -> str:
    if path.startswith(f"{_V1}/partner/webhook_endpoints"):
        return PARTNER_ENDPOINT_ID if path.endswith("endpoints") else DELIVERY_ID
    return _PREFIXES[path.rstrip("/").rsplit("/", 1)[-1]]


def response_example(method: str, path: str, status: int, schema_name: str):
    """The example response: the example object dumped by its real response schema."""
    source = RESPONSES[f"{method} {path}"][status]
    return class_registry.get_class(schema_name)().dump(source)


_REF = re.compile(r"#/components/schemas/(?P<name>\w+)$")


def _schema_name(response: dict) -> str | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    found = _REF.match(schema.get("$ref", "")) if isinstance(schema, dict) else None
    return found["name"] if found else None


class ExampleDocs(BasePlugin):
    """Puts the example request and response into each operation of the document."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Examples for the body, the parameters and each success response."""
        for method, operation in (operations or {}).items():
            verb = method.upper()
            key = f"{verb} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and key in REQUESTS:
                body["example"] = REQUESTS[key]
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") in ("query", "path"):
                    try:
                        parameter["example"] = parameter_example(verb, path, parameter["name"])
                    except KeyError:
                        continue
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith("2") or not isinstance(response, dict):
                    continue
                name = _schema_name(response)
                if name is not None and int(status) in RESPONSES.get(key, {}):
                    content = response["content"]["application/json"]
                    content["example"] = response_example(verb, path, int(status), name)

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        """Examples for the path parameters declared once for the whole path."""
        for parameter in parameters or []:
            if isinstance(parameter, dict) and parameter.get("in") == "path":
                try:
                    example = parameter_example("", path, parameter["name"])
                except KeyError:
                    example = None
                parameter.setdefault("example", example)
        return None
