"""/api/v1/api_keys (stub)."""

from payymo.api.common import Blueprint

blp = Blueprint("api_keys", __name__, url_prefix="/api_keys")
