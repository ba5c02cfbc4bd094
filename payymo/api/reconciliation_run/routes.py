"""/api/v1/reconciliation/run: ask for a reconcile run by hand."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, StrictSchema
from payymo.api.fields import StrictBoolean
from payymo.api.jobs.schemas import JobOut
from payymo.services import jobs as service

blp = Blueprint(
    "reconciliation_run",
    __name__,
    url_prefix="/reconciliation",
    description="Reconcile runs",
)


class RunIn(StrictSchema):
    """The body is optional."""

    full = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Read every open credit and invoice, not only what changed since "
            "the last run (the decisions are the same; a full run is slower)."
        },
    )


@blp.route("/run")
class ReconciliationRun(MethodView):
    @blp.arguments(RunIn, required=False)
    @blp.response(202, JobOut)
    def post(self, body):
        """Queue a reconcile run (or return the one already queued); poll GET /jobs/{id}.

        Runs are incremental: they decide the credits that what changed since the last
        run can affect. ``{"full": true}`` makes the next run read everything.
        """
        full = bool((body or {}).get("full"))
        return service.request_reconcile(session=db.session, reason="api", full=full)
