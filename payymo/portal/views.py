"""/portal: a person of a partner's tenant signs in with a one-time link, then reviews.

Pages: bank connections (connect, reconnect), credits to review (accept, reject, match
by hand), invoices (undo), statement files (``statements``), Stripe payouts, webhooks
(send a test event).

The browser session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure in
production) holding the tenant, the partner, when it ends and a CSRF token every form
sends back. Each request enters the tenant's scope as an API request does, and every
action goes through the same services as the API and is audited.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from payymo import db, money, tenancy
from payymo.db import utcnow
from payymo.errors import InvalidRequest, NotFound, PayymoError
from payymo.models import BankConnection, Match, Suggestion, Tenant, Transaction
from payymo.portal import audit
from payymo.services import matches, suggestions
from payymo.services import review as review_service
from payymo.services.banking import connections, institutions
from payymo.services.partners import branding, portal_links
from payymo.services.stripe import payments as stripe_payments
from payymo.services.webhooks import deliveries as webhook_deliveries
from payymo.services.webhooks import endpoints as webhook_endpoints
from payymo.tenancy import get_or_404

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")
# Amounts on pages as the API shows them in its *_display strings.
bp.add_app_template_global(money.to_display, "money")


def _page(template: str, status: int = 200, **context):
    # The partner's app, when its sign-in link named one (checked https when it was made).
    back = session.get("return_url") if g.get("brand") else None
    return render_template(template, brand=g.get("brand"), back_url=back, **context), status


def _message(title: str, text: str, status: int):
    return _page("portal/message.html", status, title=title, text=text)


@bp.get("/sign-in/<token>")
def sign_in(token: str):
    """Open a one-time link: a new browser session for its tenant, then the portal."""
    try:
        link = portal_links.redeem(session=db.session, token=token)
    except portal_links.LinkRefused:
        db.session.rollback()
        session.clear()
        return _message(
            "This link cannot be used",
            "It was used already or has expired. Ask for a new sign-in link.",
            400,
        )
    db.session.commit()
    session.clear()
    session.permanent = True
    session.update(
        tenant_id=link.tenant_id,
        partner_id=link.partner_id,
        ends_at=(utcnow() + portal_links.SESSION_LIFETIME).isoformat(),
        csrf=secrets.token_urlsafe(32),
        return_url=link.return_url,
        link_id=link.id,
    )
    return redirect(url_for("portal.home"))


@bp.before_request
def _enter():
    if request.endpoint == "portal.sign_in":
        return None
    ends_at = session.get("ends_at")
    if (
        not session.get("tenant_id")
        or not ends_at
        or dt.datetime.fromisoformat(ends_at) <= utcnow()
    ):
        session.clear()
        return _message("Signed out", "Your session has ended. Ask for a new sign-in link.", 401)
    if request.method == "POST" and not hmac.compare_digest(
        request.form.get("csrf_token", "").encode(), session.get("csrf", "").encode()
    ):
        return _message("Form expired", "That form could not be checked. Reload and retry.", 400)
    g.portal_tokens = tenancy.enter(session["tenant_id"])
    tenant = db.session.get(Tenant, session["tenant_id"])
    if tenant is None or tenant.status != "active":
        session.clear()
        return _message("Unavailable", "This account is not active.", 403)
    g.brand = branding.get_branding(session=db.session, partner_id=session["partner_id"])
    g.tenant = tenant
    return None


# No scripts at all; styles inline; logos from https; never framed; no caching of pages
# that show a tenant's money; the sign-in token never leaves in a Referer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' https:; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@bp.after_request
def _protect(response):
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.teardown_request
def _leave(_exc):
    tokens = g.pop("portal_tokens", None)
    if tokens is not None:
        tenancy.leave(tokens)


@bp.get("")
def home():
    """The tenant's bank connections with their state and what can be done about them."""
    rows = db.session.scalars(select(BankConnection).order_by(BankConnection.id.desc())).all()
    return _page(
        "portal/bank_connections.html",
        tenant=g.tenant,
        connections=rows,
        reconnectable=connections.RECONNECTABLE,
        csrf=session["csrf"],
    )


@bp.post("/bank_connections/<connection_id>/reconnect")
def reconnect(connection_id: str):
    """A new consent for an expired or failed connection: off to the bank's page."""
    callback = url_for("bank_connections.BankConnectionCallback", _external=True)
    try:
        conn = connections.reconnect(
            session=db.session, connection_id=connection_id, callback_url=callback
        )
    except PayymoError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        audit.record(
            resource_type="bank_connection",
            resource_id=connection_id,
            status_code=exc.status,
            error_code=exc.code,
        )
        db.session.commit()
        return _message("Not reconnected", exc.message, exc.status)
    audit.record(resource_type="bank_connection", resource_id=conn.id, status_code=302)
    db.session.commit()
    return redirect(conn.link)


COUNTRIES = {
    "GB": "United Kingdom",
    "IE": "Ireland",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "ES": "Spain",
    "IT": "Italy",
}


@bp.get("/connect")
def connect_form():
    """Pick a bank to connect (by country): the consent then happens at the bank."""
    country = (request.args.get("country") or "GB").upper()
    if country not in COUNTRIES:
        country = "GB"
    banks = institutions.list_institutions(session=db.session, country=country)
    return _page(
        "portal/connect.html",
        countries=COUNTRIES,
        country=country,
        banks=banks,
        csrf=session["csrf"],
    )


@bp.post("/connect")
def connect_bank():
    """Start a consent at the chosen bank; the bank sends the person back to the portal."""
    try:
        conn = connections.create_connection(
            session=db.session,
            institution_id=(request.form.get("institution_id") or "")[:100],
            redirect_url=url_for("portal.home", _external=True),
            callback_url=url_for("bank_connections.BankConnectionCallback", _external=True),
        )
    except InvalidRequest as exc:
        if exc.code != "unknown_institution":
            raise
        db.session.rollback()
        return _message("Bank not available", "Pick a bank from the list and try again.", 400)
    db.session.flush()
    audit.record(resource_type="bank_connection", resource_id=conn.id, status_code=302)
    db.session.commit()
    return redirect(conn.link)


@bp.get("/review")
def review():
    """Credits nothing explains yet, with the engine's suggestions to accept or reject."""
    return _page(
        "portal/review.html",
        tenant=g.tenant,
        credits=review_service.credits_to_review(session=db.session),
        csrf=session["csrf"],
    )


def _suggestion_action(suggestion_id: str, decide, done: str):
    suggestion = get_or_404(db.session, Suggestion, suggestion_id)
    try:
        decide(session=db.session, suggestion=suggestion, actor=_actor())
    except suggestions.SuggestionExpired as exc:
        # The expiry is part of the answer: kept, as the API keeps it.
        audit.record(
            resource_type="suggestion",
            resource_id=suggestion_id,
            status_code=exc.status,
            error_code=exc.code,
        )
        db.session.commit()
        return _message("No longer fits", exc.message, exc.status)
    audit.record(resource_type="suggestion", resource_id=suggestion_id, status_code=303)
    db.session.commit()
    return redirect(url_for("portal.review", done=done), code=303)


@bp.post("/suggestions/<suggestion_id>/accept")
def accept(suggestion_id: str):
    """Apply a suggestion as a match (re-checked now, as the API does)."""
    return _suggestion_action(suggestion_id, suggestions.accept_suggestion, "accepted")


@bp.post("/suggestions/<suggestion_id>/reject")
def reject(suggestion_id: str):
    """Reject a suggestion: the pairs it names are never suggested again."""
    return _suggestion_action(suggestion_id, suggestions.reject_suggestion, "rejected")


@bp.get("/credits/<transaction_id>/match")
def match_form(transaction_id: str):
    """Match a credit by hand: find invoices (number, customer or amount), tick them."""
    credit = get_or_404(db.session, Transaction, transaction_id)
    query = (request.args.get("q") or "").strip()[:100] or None
    return _page(
        "portal/match.html",
        credit=credit,
        invoices=review_service.open_invoices(session=db.session, query=query),
        query=query or "",
        csrf=session["csrf"],
    )


@bp.post("/credits/<transaction_id>/match")
def match_by_hand(transaction_id: str):
    """Allocate the credit to the ticked invoices, each by the amount given for it."""
    lines = [
        {"invoice_id": invoice_id, "amount": _minor_units(request.form.get(f"amount_{invoice_id}"))}
        for invoice_id in request.form.getlist("invoice_id")[:50]
    ]
    if not lines:
        return _message("Nothing ticked", "Tick at least one invoice to match.", 400)
    match = matches.create_manual_match(
        session=db.session, transaction_id=transaction_id, lines=lines, actor=_actor()
    )
    audit.record(resource_type="match", resource_id=match.id, status_code=303)
    db.session.commit()
    return redirect(url_for("portal.review", done="matched"), code=303)


def _minor_units(value: str | None) -> int:
    """A whole number of minor units from a form field (the API's own rules check the rest)."""
    if not value or not value.strip().isdigit():
        raise InvalidRequest("Give each ticked invoice an amount in minor units (e.g. 12300).")
    return int(value.strip())


@bp.get("/invoices")
def invoices():
    """Invoices with their payment status and the payments that settled them."""
    query = (request.args.get("q") or "").strip()[:100] or None
    return _page(
        "portal/invoices.html",
        tenant=g.tenant,
        invoices=review_service.invoices_with_payments(session=db.session, query=query),
        query=query or "",
        csrf=session["csrf"],
    )


@bp.post("/matches/<match_id>/undo")
def undo(match_id: str):
    """Reverse a match: the invoice owes again, the pair is never matched again."""
    match = get_or_404(db.session, Match, match_id)
    matches.reverse(session=db.session, match=match, actor=_actor())
    audit.record(resource_type="match", resource_id=match.id, status_code=303)
    db.session.commit()
    return redirect(url_for("portal.invoices"), code=303)


def _actor() -> str:
    return f"portal:{session.get('link_id')}"


@bp.errorhandler(PayymoError)
def _refused(exc: PayymoError):
    """A domain error on a portal page: the same rules as the API, said on a page."""
    db.session.rollback()
    if isinstance(exc, NotFound):
        return _message("Not found", "There is nothing here.", 404)
    return _message("That did not work", exc.message, exc.status)


@bp.get("/payouts")
def payouts():
    """Stripe payouts: what reached the bank, what it was made of, which bank line it is."""
    page = stripe_payments.list_payouts(session=db.session, filters={}, page={"limit": 50})
    return _page("portal/payouts.html", payouts=page.data, csrf=session["csrf"])


@bp.get("/webhooks")
def webhooks():
    """Webhook endpoints with their latest deliveries, and a test event button."""
    listed = webhook_endpoints.list_endpoints(session=db.session, page={"limit": 50}).data
    recent = {
        endpoint.id: webhook_deliveries.list_deliveries(
            session=db.session, endpoint_id=endpoint.id, filters={}, page={"limit": 5}
        ).data
        for endpoint in listed
    }
    return _page("portal/webhooks.html", endpoints=listed, deliveries=recent, csrf=session["csrf"])


@bp.post("/webhooks/<endpoint_id>/test")
def send_test_event(endpoint_id: str):
    """Send the endpoint a ``webhook.test`` event now."""
    delivery = webhook_endpoints.send_test(
        session=db.session, endpoint_id=endpoint_id, now=utcnow()
    )
    audit.record(resource_type="webhook_delivery", resource_id=delivery.id, status_code=303)
    db.session.commit()
    return redirect(url_for("portal.webhooks", sent=endpoint_id), code=303)


@bp.post("/sign-out")
def sign_out():
    """End the browser session."""
    session.clear()
    return _message("Signed out", "You are signed out.", 200)


# Pages in their own modules, on this blueprint.
from payymo.portal import statements  # noqa: E402, F401
