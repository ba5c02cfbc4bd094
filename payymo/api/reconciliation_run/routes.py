"""/api/v1/reconciliation/run: ask for a reconcile run by hand."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, StrictSchema
from payymo.api.jobs.schemas import JobOut
from payymo.services import jobs as service

blp = Blueprint(
    "reconciliation_run",
    __name__,
    url_prefix="/reconciliation",
    description="Reconcile runs",
)


class RunIn(StrictSchema):
    """No options yet: the run looks at every open credit and invoice. The body is optional."""


@blp.route("/run")
class ReconciliationRun(MethodView):
    @blp.arguments(RunIn, required=False)
    @blp.response(202, JobOut)
    def post(self, _body):
        """Queue a reconcile run (or return the one already queued); poll GET /jobs/{id}."""
        return service.request_reconcile(session=db.session, reason="api")
