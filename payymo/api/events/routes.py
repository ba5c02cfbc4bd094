"""/api/v1/events (stub)."""

from payymo.api.common import Blueprint

blp = Blueprint("events", __name__, url_prefix="/events")
