"""/api/v1/bank_connections: connect a bank, follow its consent, sync, revoke."""

from __future__ import annotations

from dataclasses import replace

from flask import redirect, request, url_for
from flask.views import MethodView
from marshmallow import EXCLUDE

from payymo import db
from payymo.api.bank_connections.schemas import (
    BankConnectionCreate,
    BankConnectionList,
    BankConnectionListArgs,
    BankConnectionOut,
    CallbackArgs,
)
from payymo.api.common import Blueprint, page_args
from payymo.api.jobs.schemas import JobOut
from payymo.representations.bank_connections import connection_document
from payymo.services.banking import connections as service
from payymo.services.banking.refresh import request_refresh
from payymo.tenancy import system_scope, tenant_scope

blp = Blueprint(
    "bank_connections", __name__, url_prefix="/bank_connections", description="Bank connections"
)


def _callback_url() -> str:
    return url_for("bank_connections.BankConnectionCallback", _external=True)


@blp.route("")
class BankConnections(MethodView):
    @blp.arguments(BankConnectionListArgs, location="query")
    @blp.response(200, BankConnectionList)
    def get(self, args):
        """List bank connections, newest first."""
        page = service.list_connections(session=db.session, filters=args, page=page_args(args))
        return replace(page, data=[connection_document(c) for c in page.data])

    @blp.arguments(BankConnectionCreate)
    @blp.response(201, BankConnectionOut)
    def post(self, data):
        """Start connecting a bank; send the end user to the answer's ``link``."""
        conn = service.create_connection(session=db.session, callback_url=_callback_url(), **data)
        return connection_document(conn)


@blp.route("/callback")
class BankConnectionCallback(MethodView):
    @blp.arguments(CallbackArgs, location="query", unknown=EXCLUDE)
    @blp.response(302)
    def get(self, args):
        """Where the bank sends the end user back; redirects on to the tenant's redirect_url.

        Needs no API key: the unguessable ``state`` names the connection, once.
        """
        params = {k: v for k, v in request.args.items()}
        with system_scope():
            conn = service.find_by_reference(db.session, args["state"])
            tenant_id, connection_id = conn.tenant_id, conn.id
            db.session.rollback()
        with tenant_scope(tenant_id):
            _, _, target = service.complete_consent(
                session=db.session, connection_id=connection_id, params=params
            )
            db.session.commit()
        return redirect(target, code=302)


@blp.route("/<string:connection_id>")
class BankConnectionById(MethodView):
    @blp.response(200, BankConnectionOut)
    def get(self, connection_id):
        """Retrieve a bank connection with its accounts and sync state."""
        return connection_document(
            service.get_connection(session=db.session, connection_id=connection_id)
        )

    @blp.response(200, BankConnectionOut)
    def delete(self, connection_id):
        """Revoke the consent at the provider and stop syncing; transactions are kept."""
        return connection_document(service.revoke(session=db.session, connection_id=connection_id))


@blp.route("/<string:connection_id>/refresh")
class BankConnectionRefresh(MethodView):
    @blp.response(202, JobOut)
    def post(self, connection_id):
        """Sync now: answers the sync job, or 429 naming when the bank allows the next."""
        return request_refresh(session=db.session, connection_id=connection_id)


@blp.route("/<string:connection_id>/reconnect")
class BankConnectionReconnect(MethodView):
    @blp.response(200, BankConnectionOut)
    def post(self, connection_id):
        """A new consent for an expired or suspended connection; history continues."""
        conn = service.reconnect(
            session=db.session, connection_id=connection_id, callback_url=_callback_url()
        )
        return connection_document(conn)
