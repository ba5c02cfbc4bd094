"""/portal: sign in with a one-time link, then see and fix the tenant's bank connections.

The browser session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure in
production) holding the tenant, the partner, when it ends and a CSRF token every form
sends back. Each request enters the tenant's scope as an API request does, and every
action goes through the same services as the API.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from payymo import db, tenancy
from payymo.db import utcnow
from payymo.errors import PayymoError
from payymo.models import BankConnection, Tenant
from payymo.portal import audit
from payymo.services.banking import connections
from payymo.services.partners import branding, portal_links

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")


def _page(template: str, status: int = 200, **context):
    return render_template(template, brand=g.get("brand"), **context), status


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
        request.form.get("csrf_token", ""), session.get("csrf", "")
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
            abort(404)
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


@bp.post("/sign-out")
def sign_out():
    """End the browser session."""
    session.clear()
    return _message("Signed out", "You are signed out.", 200)
