"""/api/v1/events: the tenant's event log, newest first, in the webhook payload's shape."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.events import catalog
from payymo.api.events.schemas import EventList, EventListArgs, EventOut, EventTypeList
from payymo.errors import NotFound
from payymo.event_types import EVENT_TYPES
from payymo.services import events as service

blp = Blueprint("events", __name__, url_prefix="/events", description="Event log")


@blp.route("")
class Events(MethodView):
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventList)
    def get(self, args):
        """List events, newest first (by event_type or a prefix like invoice.*), or sync."""
        if "event_type" in args:
            args["type"] = args.pop("event_type")
        return service.list_events(session=db.session, filters=args, page=page_args(args))


@blp.route("/types")
class EventTypes(MethodView):
    @blp.response(200, EventTypeList)
    def get(self):
        """Every event type Payymo sends, with what it means."""
        items = [{"event_type": t, "description": d} for t, d in EVENT_TYPES.items()]
        return {"data": items}


@blp.route("/samples/<string:event_type>")
class EventSample(MethodView):
    @blp.response(200, EventOut)
    def get(self, event_type):
        """A realistic sample event of a type, in the payload's shape (Zapier, Make)."""
        if event_type not in EVENT_TYPES:
            raise NotFound(
                f"No such event type: '{event_type[:100]}'. GET /events/types lists them.",
                param="event_type",
            )
        return catalog.sample(event_type)


@blp.route("/<string:event_id>")
class EventById(MethodView):
    @blp.response(200, EventOut)
    def get(self, event_id):
        """Retrieve an event."""
        return service.get_event(session=db.session, event_id=event_id)
