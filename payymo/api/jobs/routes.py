"""/api/v1/jobs: background jobs, their state and result."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.jobs.schemas import JobList, JobListArgs, JobOut
from payymo.services import jobs as service

blp = Blueprint("jobs", __name__, url_prefix="/jobs", description="Background jobs")


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(JobListArgs, location="query")
    @blp.response(200, JobList)
    def get(self, args):
        """List jobs, newest first, optionally by type and status."""
        page = page_args(args)
        return service.list_jobs(session=db.session, filters=args, page=page)


@blp.route("/<string:job_id>")
class JobById(MethodView):
    @blp.response(200, JobOut)
    def get(self, job_id):
        """Retrieve a job: queued, running, succeeded or failed, with its result counts."""
        return service.get_job(session=db.session, job_id=job_id)
