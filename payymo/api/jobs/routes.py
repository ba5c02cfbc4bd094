"""/api/v1/jobs: the state and result of a background job."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint
from payymo.api.jobs.schemas import JobOut
from payymo.services import jobs as service

blp = Blueprint("jobs", __name__, url_prefix="/jobs", description="Background jobs")


@blp.route("/<string:job_id>")
class JobById(MethodView):
    @blp.response(200, JobOut)
    def get(self, job_id):
        """Retrieve a job: queued, running, succeeded or failed, with its result counts."""
        return service.get_job(session=db.session, job_id=job_id)
