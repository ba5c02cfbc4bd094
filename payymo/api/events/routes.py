"""/api/v1/events: the tenant's event log, newest first."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.events.schemas import EventList, EventListArgs, EventOut
from payymo.services import events as service

blp = Blueprint("events", __name__, url_prefix="/events", description="Event log")


@blp.route("")
class Events(MethodView):
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventList)
    def get(self, args):
        """List events, newest first (by type or prefix like invoice.*), or sync with sync_token."""
        page = page_args(args)
        return service.list_events(session=db.session, filters=args, page=page)


@blp.route("/<string:event_id>")
class EventById(MethodView):
    @blp.response(200, EventOut)
    def get(self, event_id):
        """Retrieve an event."""
        return service.get_event(session=db.session, event_id=event_id)
