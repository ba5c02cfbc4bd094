"""/api/v1/bank_accounts (stub)."""

from payymo.api.common import Blueprint

blp = Blueprint("bank_accounts", __name__, url_prefix="/bank_accounts")
