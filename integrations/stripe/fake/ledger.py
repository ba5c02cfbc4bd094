"""One fake Stripe account's objects and what happens to them (payments, refunds, payouts).

Objects are plain dicts in Stripe's JSON shape. Every change records an event, as
Stripe does; the server lists them and can send them, signed, to a webhook URL.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field

DAY = 86400
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
API_VERSION = "2025-09-30.clover"


class StripeFailure(Exception):
    """An error Stripe would answer: status, type, code, message, param, extra fields."""

    def __init__(self, status: int, kind: str, message: str, *, code=None, param=None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"type": kind, "message": message}
        if code:
            self.body["code"] = code
        if param:
            self.body["param"] = param
        self.body.update(extra)


def missing(kind: str, object_id: str) -> StripeFailure:
    """Stripe's 404 for an unknown id."""
    return StripeFailure(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param="id",
    )


# Test payment methods: what a confirmation with each does (decline code, message).
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
}
SUCCEEDS = {"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_gb", "pm_card_de"}


def fee_for(amount: int, currency: str) -> int:
    """The fake's card fee: 2.9 % plus a fixed 0.30 in the currency's minor units."""
    fixed = 0 if currency in ZERO_DECIMAL else 30 * (10 if currency in THREE_DECIMAL else 1)
    return -(-amount * 29 // 1000) + fixed  # 2.9 %, rounded up, in integers


def dispute_fee(currency: str) -> int:
    """The fake's dispute fee: 15.00 (¥2,000 in a zero-decimal currency)."""
    if currency in ZERO_DECIMAL:
        return 2000
    return 15000 if currency in THREE_DECIMAL else 1500


@dataclass
class Ledger:
    """The objects of one account, by kind then id; and its events, oldest first."""

    account_id: str
    clock: callable = time.time
    objects: dict[str, dict[str, dict]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    _counter: int = 0

    # -- basics ---------------------------------------------------------------------------

    def now(self) -> int:
        """The fake's clock, unix seconds."""
        return int(self.clock())

    def new_id(self, prefix: str) -> str:
        """A Stripe-looking id, increasing (lists sort newest first by it)."""
        self._counter += 1
        return f"{prefix}_{self._counter:08d}{secrets.token_hex(6)}"

    def store(self, kind: str, obj: dict) -> dict:
        """Keep ``obj`` under ``kind``; answers it."""
        self.objects.setdefault(kind, {})[obj["id"]] = obj
        return obj

    def get(self, kind: str, object_id: str) -> dict:
        """An object, or Stripe's 404."""
        found = self.objects.get(kind, {}).get(object_id)
        if found is None:
            raise missing(kind, object_id)
        return found

    def all(self, kind: str) -> list[dict]:
        """Every object of a kind, newest first."""
        return sorted(self.objects.get(kind, {}).values(), key=lambda o: o["id"], reverse=True)

    def emit(self, event_type: str, obj: dict, previous: dict | None = None) -> dict:
        """Record an event with a snapshot of ``obj``."""
        data = {"object": _copy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "account": self.account_id,
        }
        self.events.append(event)
        return self.store("event", event)

    # -- balance --------------------------------------------------------------------------

    def _balance_transaction(
        self, *, amount: int, currency: str, kind: str, category: str, source: str, fee: int = 0
    ) -> dict:
        now = self.now()
        fee_details = (
            [{"amount": fee, "currency": currency, "description": "Stripe processing fees",
              "type": "stripe_fee", "application": None}]
            if fee else []
        )  # fmt: skip
        return self.store(
            "balance_transaction",
            {
                "id": self.new_id("txn"),
                "object": "balance_transaction",
                "amount": amount,
                "available_on": now + 2 * DAY,
                "created": now,
                "currency": currency,
                "description": None,
                "exchange_rate": None,
                "fee": fee,
                "fee_details": fee_details,
                "net": amount - fee,
                "reporting_category": category,
                "source": source,
                "status": "pending",
                "type": kind,
                "payout": None,  # the fake's own bookkeeping; listed with ?payout=
            },
        )

    # -- payment intents ------------------------------------------------------------------

    def create_payment_intent(self, params: dict) -> dict:
        """``POST /v1/payment_intents`` (and its ``confirm=true``)."""
        amount = _amount(params.get("amount"))
        currency = _currency(params.get("currency"))
        intent_id = self.new_id("pi")
        intent = self.store(
            "payment_intent",
            {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": 0,
                "capture_method": "automatic",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                "created": self.now(),
                "currency": currency,
                "customer": params.get("customer"),
                "description": params.get("description"),
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": dict(params.get("metadata") or {}),
                "payment_method": params.get("payment_method"),
                "payment_method_types": list(params.get("payment_method_types") or ["card"]),
                "receipt_email": params.get("receipt_email"),
                "status": "requires_confirmation"
                if params.get("payment_method")
                else "requires_payment_method",
            },
        )
        self.emit("payment_intent.created", intent)
        if _truthy(params.get("confirm")):
            return self.confirm_payment_intent(intent_id, params)
        return intent

    def confirm_payment_intent(self, intent_id: str, params: dict) -> dict:
        """``POST /v1/payment_intents/{id}/confirm``: charge the test card."""
        intent = self.get("payment_intent", intent_id)
        if intent["status"] == "succeeded":
            raise StripeFailure(
                400,
                "invalid_request_error",
                "This PaymentIntent's status is succeeded, so it cannot be confirmed.",
                code="payment_intent_unexpected_state",
            )
        method = params.get("payment_method") or intent["payment_method"]
        if not method:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        intent["payment_method"] = method
        if method in DECLINES:
            return self._decline(intent, method)
        if method not in SUCCEEDS:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{method}'",
                code="resource_missing",
                param="payment_method",
            )
        charge = self._charge(intent, method, succeeded=True)
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent["latest_charge"] = charge["id"]
        self.emit("charge.succeeded", charge)
        self.emit("payment_intent.succeeded", intent)
        return intent

    def _charge(self, intent: dict, method: str, *, succeeded: bool, failure=None) -> dict:
        charge_id = self.new_id("ch")
        balance = None
        if succeeded:
            fee = fee_for(intent["amount"], intent["currency"])
            balance = self._balance_transaction(
                amount=intent["amount"],
                currency=intent["currency"],
                kind="charge",
                category="charge",
                source=charge_id,
                fee=fee,
            )["id"]
        return self.store(
            "charge",
            {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"] if succeeded else 0,
                "amount_refunded": 0,
                "balance_transaction": balance,
                "captured": succeeded,
                "created": self.now(),
                "currency": intent["currency"],
                "customer": intent["customer"],
                "description": intent["description"],
                "disputed": False,
                "failure_code": failure[0] if failure else None,
                "failure_message": failure[1] if failure else None,
                "livemode": False,
                "metadata": dict(intent["metadata"]),
                "outcome": {"type": "authorized" if succeeded else "issuer_declined"},
                "paid": succeeded,
                "payment_intent": intent["id"],
                "payment_method": method,
                "refunded": False,
                "status": "succeeded" if succeeded else "failed",
            },
        )

    def _decline(self, intent: dict, method: str) -> dict:
        code, message = DECLINES[method]
        charge = self._charge(intent, method, succeeded=False, failure=("card_declined", message))
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": code,
            "message": message,
            "charge": charge["id"],
        }
        intent.update(status="requires_payment_method", last_payment_error=error)
        intent["latest_charge"] = charge["id"]
        self.emit("charge.failed", charge)
        self.emit("payment_intent.payment_failed", intent)
        raise StripeFailure(
            402,
            "card_error",
            message,
            code="card_declined",
            decline_code=code,
            charge=charge["id"],
            payment_intent=_copy(intent),
        )

    # -- refunds and disputes -------------------------------------------------------------

    def create_refund(self, params: dict) -> dict:
        """``POST /v1/refunds`` for a charge or a payment intent, whole or in part."""
        if params.get("charge"):
            charge = self.get("charge", params["charge"])
        elif params.get("payment_intent"):
            intent = self.get("payment_intent", params["payment_intent"])
            if not intent["latest_charge"]:
                raise StripeFailure(
                    400, "invalid_request_error", "This PaymentIntent has no charge to refund."
                )
            charge = self.get("charge", intent["latest_charge"])
        else:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "One of `charge` or `payment_intent` is required.",
                code="parameter_missing",
                param="charge",
            )
        left = charge["amount_captured"] - charge["amount_refunded"]
        amount = _amount(params["amount"]) if params.get("amount") else left
        if charge["status"] != "succeeded" or amount > left:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        refund_id = self.new_id("re")
        balance = self._balance_transaction(
            amount=-amount,
            currency=charge["currency"],
            kind="refund",
            category="refund",
            source=refund_id,
        )
        refund = self.store(
            "refund",
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "balance_transaction": balance["id"],
                "charge": charge["id"],
                "created": self.now(),
                "currency": charge["currency"],
                "metadata": dict(params.get("metadata") or {}),
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "status": "succeeded",
            },
        )
        before = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        self.emit("refund.created", refund)
        self.emit("charge.refunded", charge, before)
        return refund

    def open_dispute(self, charge_id: str, *, reason: str = "fraudulent") -> dict:
        """The cardholder disputes a charge: the amount and a fee leave the balance."""
        charge = self.get("charge", charge_id)
        dispute_id = self.new_id("du")
        withdrawn = self._balance_transaction(
            amount=-charge["amount"],
            currency=charge["currency"],
            kind="adjustment",
            category="dispute",
            source=dispute_id,
            fee=dispute_fee(charge["currency"]),
        )
        dispute = self.store(
            "dispute",
            {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "balance_transactions": [_copy(withdrawn)],
                "charge": charge["id"],
                "created": self.now(),
                "currency": charge["currency"],
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            },
        )
        charge["disputed"] = True
        self.emit("charge.dispute.created", dispute)
        return dispute

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict:
        """The bank decides: a won dispute gives the amount back (the fee stays)."""
        dispute = self.get("dispute", dispute_id)
        previous = {"status": dispute["status"]}
        if won:
            back = self._balance_transaction(
                amount=dispute["amount"],
                currency=dispute["currency"],
                kind="adjustment",
                category="dispute_reversal",
                source=dispute_id,
            )
            dispute["balance_transactions"].append(_copy(back))
        dispute["status"] = "won" if won else "lost"
        self.emit("charge.dispute.closed", dispute, previous)
        return dispute

    # -- payouts --------------------------------------------------------------------------

    def settle(self, *, arrival: dt.date | None = None, automatic: bool = True) -> dict | None:
        """Pay out every balance transaction not yet paid out, as one payout (None if none).

        The payout lands in the bank as one credit of the net amount; its balance
        transactions can be listed with ``?payout=`` (automatic payouts).
        """
        open_lines = [
            b
            for b in self.all("balance_transaction")
            if b["payout"] is None and b["type"] != "payout"
        ]
        if not open_lines:
            return None
        currencies = {b["currency"] for b in open_lines}
        if len(currencies) != 1:
            raise ValueError("the fake settles one currency at a time")
        [currency] = currencies
        amount = sum(b["net"] for b in open_lines)
        now = self.now()
        payout_id = self.new_id("po")
        own = self._balance_transaction(
            amount=-amount, currency=currency, kind="payout", category="payout", source=payout_id
        )
        arrival_ts = int(
            dt.datetime.combine(
                arrival or dt.date.fromtimestamp(now), dt.time(), dt.UTC
            ).timestamp()
        )
        payout = self.store(
            "payout",
            {
                "id": payout_id,
                "object": "payout",
                "amount": amount,
                "arrival_date": arrival_ts,
                "automatic": automatic,
                "balance_transaction": own["id"],
                "created": now,
                "currency": currency,
                "description": "STRIPE PAYOUT",
                "destination": "ba_fake_bank_account",
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "method": "standard",
                "reconciliation_status": "completed" if automatic else "not_applicable",
                "statement_descriptor": "STRIPE",
                "status": "paid",
                "trace_id": {
                    "status": "supported",
                    "value": f"TRACE{secrets.token_hex(5).upper()}",
                },
                "type": "bank_account",
            },
        )
        for line in open_lines:
            line["payout"] = payout_id if automatic else "manual"
            line["status"] = "available"
        own["payout"] = payout_id
        self.emit("payout.created", payout)
        self.emit("payout.paid", payout)
        if automatic:
            self.emit("payout.reconciliation_completed", payout)
        return payout

    def fail_payout(self, payout_id: str, code: str = "account_closed") -> dict:
        """A paid payout bounces: the bank account was closed (or ``code``)."""
        payout = self.get("payout", payout_id)
        previous = {"status": payout["status"]}
        back = self._balance_transaction(
            amount=payout["amount"],
            currency=payout["currency"],
            kind="payout_failure",
            category="payout_reversal",
            source=payout_id,
        )
        payout.update(
            status="failed",
            failure_code=code,
            failure_message="The bank account has been closed.",
            failure_balance_transaction=back["id"],
        )
        self.emit("payout.failed", payout, previous)
        return payout


def shown(obj: dict) -> dict:
    """An object as the API answers it (without the fake's own bookkeeping)."""
    if obj.get("object") == "balance_transaction":
        return {k: v for k, v in obj.items() if k != "payout"}
    return obj


def _copy(obj: dict) -> dict:
    import copy

    return copy.deepcopy(shown(obj))


def _truthy(value) -> bool:
    return str(value).lower() == "true"


def _amount(value) -> int:
    if value is None or not str(value).isdigit() or int(value) < 1:
        raise StripeFailure(
            400,
            "invalid_request_error",
            "Invalid positive integer",
            code="parameter_invalid_integer",
            param="amount",
        )
    return int(value)


def _currency(value) -> str:
    if not value or not str(value).isalpha() or len(str(value)) != 3:
        raise StripeFailure(
            400,
            "invalid_request_error",
            "Missing required param: currency.",
            code="parameter_missing",
            param="currency",
        )
    return str(value).lower()
