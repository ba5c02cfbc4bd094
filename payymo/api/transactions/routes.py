"""/api/v1/transactions: list, stats, get, update, import statements."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.batch import parse_rows
from payymo.api.common import Blueprint, page_args
from payymo.api.transactions.schemas import (
    IMPORT_ROW_STATUSES,
    TransactionFilters,
    TransactionImportIn,
    TransactionImportOut,
    TransactionImportRow,
    TransactionList,
    TransactionListArgs,
    TransactionOut,
    TransactionReplace,
    TransactionStatsOut,
    TransactionUpdate,
)
from payymo.models import Transaction
from payymo.services import transactions as service
from payymo.services.batch import summarise
from payymo.tenancy import get_or_404

blp = Blueprint(
    "transactions", __name__, url_prefix="/transactions", description="Bank transactions"
)
_ROW = TransactionImportRow()


@blp.route("")
class Transactions(MethodView):
    @blp.arguments(TransactionListArgs, location="query")
    @blp.response(200, TransactionList)
    def get(self, args):
        """List transactions, newest first, or sync their changes with sync_token."""
        page = page_args(args)
        return service.list_transactions(session=db.session, filters=args, page=page)


# Declared before /<transaction_id> so the literal paths are never read as ids.
@blp.route("/stats")
class TransactionStats(MethodView):
    @blp.arguments(TransactionFilters, location="query")
    @blp.response(200, TransactionStatsOut)
    def get(self, filters):
        """Counts and sums (minor units) by currency, match status, direction and month."""
        return service.transaction_stats(session=db.session, filters=filters)


@blp.route("/import")
class TransactionImport(MethodView):
    @blp.arguments(TransactionImportIn)
    @blp.response(200, TransactionImportOut)
    @blp.alt_response(207, schema=TransactionImportOut, description="Some rows failed")
    @blp.alt_response(404, description="The account does not exist")
    def post(self, body):
        """Import up to 1,000 statement lines into a manual account (207 when some fail)."""
        parsed, failed = parse_rows(
            _ROW, body["transactions"], prefix="transactions", noun="transaction"
        )
        results = service.import_transactions(
            session=db.session, account_id=body["account_id"], rows=parsed
        )
        counts, results, status = summarise(results + failed, IMPORT_ROW_STATUSES)
        return {"account_id": body["account_id"], "counts": counts, "results": results}, status


@blp.route("/<string:transaction_id>")
class TransactionById(MethodView):
    @blp.response(200, TransactionOut)
    def get(self, transaction_id):
        """Retrieve a transaction."""
        return get_or_404(db.session, Transaction, transaction_id)

    @blp.arguments(TransactionUpdate)
    @blp.response(200, TransactionOut)
    def patch(self, changes, transaction_id):
        """Set a transaction's category, notes, or ignored flag (the fields sent)."""
        return service.update_transaction(
            session=db.session, transaction_id=transaction_id, changes=changes
        )

    @blp.arguments(TransactionReplace)
    @blp.response(200, TransactionOut)
    def put(self, fields, transaction_id):
        """Replace a transaction's writable fields: category, notes and ignored (omitted ones are cleared)."""
        return service.update_transaction(
            session=db.session, transaction_id=transaction_id, changes=fields
        )
