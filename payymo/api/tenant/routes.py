"""/api/v1/tenant (stub)."""

from payymo.api.common import Blueprint

blp = Blueprint("tenant", __name__, url_prefix="/tenant")
