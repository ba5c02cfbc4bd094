"""/api/v1/bank_accounts: list, get, create a manual account; import a statement file."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.bank_accounts.schemas import (
    BankAccountCreate,
    BankAccountList,
    BankAccountListArgs,
    BankAccountOut,
    StatementImportOut,
    StatementUpload,
)
from payymo.api.common import Blueprint, page_args
from payymo.models import BankAccount
from payymo.services import bank_accounts as service
from payymo.services.batch import summarise
from payymo.services.statements.importer import ROW_STATUSES, import_statement, read_upload
from payymo.tenancy import get_or_404

blp = Blueprint("bank_accounts", __name__, url_prefix="/bank_accounts", description="Bank accounts")


@blp.route("")
class BankAccounts(MethodView):
    @blp.arguments(BankAccountListArgs, location="query")
    @blp.response(200, BankAccountList)
    def get(self, args):
        """List bank accounts, newest first."""
        page = page_args(args)
        return service.list_bank_accounts(session=db.session, filters=args, page=page)

    @blp.arguments(BankAccountCreate)
    @blp.response(201, BankAccountOut)
    def post(self, data):
        """Create a manual bank account."""
        return service.create_bank_account(session=db.session, data=data)


@blp.route("/<string:bank_account_id>")
class BankAccountById(MethodView):
    @blp.response(200, BankAccountOut)
    def get(self, bank_account_id):
        """Retrieve a bank account."""
        return get_or_404(db.session, BankAccount, bank_account_id)


@blp.route("/<string:bank_account_id>/statements")
class BankAccountStatements(MethodView):
    @blp.arguments(StatementUpload, location="multipart")
    @blp.response(201, StatementImportOut)
    @blp.alt_response(207, schema=StatementImportOut, description="Some lines failed")
    @blp.alt_response(404, description="The account does not exist")
    @blp.alt_response(413, description="The file is over 20 MB")
    def post(self, form, bank_account_id):
        """Import a statement file (CAMT.053/052/054, MT940, OFX or CSV) into a manual account.

        Lines already in the account (an overlapping statement, the same file again)
        answer ``duplicate``; the rest are created. 207 when some lines failed.
        """
        upload = form["file"]
        done = import_statement(
            session=db.session,
            account_id=bank_account_id,
            data=read_upload(upload),
            format=form.get("format"),
            filename=upload.filename,
            mapping=form.get("mapping"),
        )
        counts, results, status = summarise(done.results, ROW_STATUSES)
        body = {
            "account_id": done.account_id,
            "format": done.format,
            "counts": counts,
            "results": results,
            "opening_balance": done.opening_balance,
            "closing_balance": done.closing_balance,
            "warnings": done.warnings,
        }
        return body, 201 if status == 200 else status
