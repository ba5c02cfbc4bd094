"""/api/v1/bank_accounts: list, get, create a manual account."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.bank_accounts.schemas import (
    BankAccountCreate,
    BankAccountList,
    BankAccountListArgs,
    BankAccountOut,
)
from payymo.api.common import Blueprint, page_args
from payymo.models import BankAccount
from payymo.services import bank_accounts as service
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
