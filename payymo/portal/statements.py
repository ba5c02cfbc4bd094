"""/portal/statements: a person uploads the statement file their bank exported."""

from __future__ import annotations

from flask import request, session

from payymo import db
from payymo.errors import InvalidRequest
from payymo.portal import audit
from payymo.portal.views import _page, bp
from payymo.services import bank_accounts
from payymo.services.batch import summarise
from payymo.services.statements.importer import (
    CSV_PRESETS,
    ROW_STATUSES,
    STATEMENT_FORMATS,
    import_statement,
    read_upload,
)

_ERRORS_SHOWN = 20


def _accounts():
    page = bank_accounts.list_bank_accounts(
        session=db.session, filters={"kind": "manual"}, page={"limit": 100}
    )
    return page.data


def _form(status: int = 200, **context):
    return _page(
        "portal/statements.html",
        status,
        accounts=_accounts(),
        formats=STATEMENT_FORMATS,
        presets=list(CSV_PRESETS),
        csrf=session["csrf"],
        **context,
    )


@bp.get("/statements")
def statements():
    """The manual accounts, and a form to import a statement file into one."""
    return _form()


@bp.post("/statements")
def upload_statement():
    """Import the uploaded file; the page says what each line became."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidRequest("Choose the statement file to import.", param="file")
    preset = request.form.get("mapping") or None
    if preset is not None and preset not in CSV_PRESETS:
        raise InvalidRequest("Choose one of the CSV layouts listed.", param="mapping")
    done = import_statement(
        session=db.session,
        account_id=request.form.get("account_id", ""),
        data=read_upload(upload),
        format=request.form.get("format") or None,
        filename=upload.filename,
        mapping=CSV_PRESETS[preset] if preset else None,
    )
    counts, _results, status = summarise(done.results, ROW_STATUSES)
    failed = [r.error for r in done.results if r.error]
    audit.record(
        resource_type="statement_import",
        resource_id=done.account_id,
        status_code=201 if status == 200 else status,
    )
    db.session.commit()
    return _form(done=done, counts=counts, failed=failed[:_ERRORS_SHOWN], more=len(failed))
