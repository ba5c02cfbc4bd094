"""/api/v1/stripe: payments for invoices and the payouts they reach the bank in."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.jobs.schemas import JobOut
from payymo.api.reconciliation.schemas import MatchOut
from payymo.api.stripe.schemas import (
    CreatedPayment,
    PaymentCreate,
    PaymentListArgs,
    PayoutListArgs,
    PayoutMatchIn,
    StripePaymentCreated,
    StripePaymentList,
    StripePaymentOut,
    StripePayoutList,
    StripePayoutOut,
)
from payymo.services import jobs as job_service
from payymo.services.stripe import payments as service
from payymo.services.stripe import payout_matching
from payymo.services.stripe.links import require_link

blp = Blueprint("stripe", __name__, url_prefix="/stripe", description="Stripe payments and payouts")


@blp.route("/payments")
class StripePayments(MethodView):
    @blp.arguments(PaymentListArgs, location="query")
    @blp.response(200, StripePaymentList)
    def get(self, args):
        """List Stripe payments, newest first."""
        return service.list_payments(session=db.session, filters=args, page=page_args(args))

    @blp.arguments(PaymentCreate)
    @blp.response(201, StripePaymentCreated)
    @blp.alt_response(404, description="The invoice does not exist, or Stripe is not linked")
    @blp.alt_response(402, description="The card was declined: `code` is Stripe's decline code")
    @blp.alt_response(502, description="Stripe could not be reached; retry later")
    def post(self, data):
        """Take a payment for an invoice's open amount (idempotent per invoice and amount)."""
        return CreatedPayment(*service.create_payment(session=db.session, **data))


@blp.route("/sync")
class StripeSync(MethodView):
    @blp.response(202, JobOut)
    @blp.alt_response(404, description="Stripe is not linked")
    def post(self):
        """Backfill payments and payouts from Stripe since the last sync (a job)."""
        require_link(db.session)
        return job_service.request_stripe_sync(session=db.session, reason="api")


@blp.route("/payments/<string:payment_id>")
class StripePaymentById(MethodView):
    @blp.response(200, StripePaymentOut)
    def get(self, payment_id):
        """Retrieve a Stripe payment."""
        return service.get_payment(session=db.session, payment_id=payment_id)


@blp.route("/payouts")
class StripePayouts(MethodView):
    @blp.arguments(PayoutListArgs, location="query")
    @blp.response(200, StripePayoutList)
    def get(self, args):
        """List Stripe payouts, newest first."""
        return service.list_payouts(session=db.session, filters=args, page=page_args(args))


@blp.route("/payouts/<string:payout_id>")
class StripePayoutById(MethodView):
    @blp.response(200, StripePayoutOut)
    def get(self, payout_id):
        """Retrieve a payout with its breakdown."""
        return service.get_payout(session=db.session, payout_id=payout_id)


@blp.route("/payouts/<string:payout_id>/match")
class StripePayoutMatch(MethodView):
    @blp.arguments(PayoutMatchIn)
    @blp.response(201, MatchOut)
    @blp.alt_response(404, description="The payout or the transaction does not exist")
    @blp.alt_response(
        409, description="The payout is not paid or already matched, or the line is matched"
    )
    def post(self, body, payout_id):
        """Match a bank credit to this payout by hand (the engine does it when it is sure).

        The credit must be exactly the payout's amount and currency. Reverse it with
        `DELETE /reconciliation/matches/{match_id}`; the engine then never pairs the two again.
        """
        return payout_matching.match_by_hand(
            session=db.session,
            payout_id=payout_id,
            transaction_id=body["transaction_id"],
            actor=g.api_key.id,
        )
