"""/api/v1/transactions (stub)."""

from payymo.api.common import Blueprint

blp = Blueprint("transactions", __name__, url_prefix="/transactions")
