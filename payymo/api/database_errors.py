"""Database failures a client can retry, told apart from bugs.

A deadlock or a serialization failure lost a race with a concurrent change (409); a
lock or statement timeout, a busy SQLite file or a lost connection is the service
being unable to answer now (503). Each answer carries ``Retry-After``. Anything else is
an internal error (500). Messages never carry SQL or the driver's text.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from payymo.errors import ApiError, Conflict, PayymoError, ServiceUnavailable

RACE_LOST = {"40P01": "deadlock_detected", "40001": "serialization_failure"}
TIMED_OUT = {"55P03": "lock_timeout", "57014": "statement_timeout"}
CONNECTION_CLASS = "08"  # connection_exception, all of its codes


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a driver error, when the driver gives one."""
    return getattr(exc.orig, "sqlstate", None)


def database_error(exc: DBAPIError) -> PayymoError:
    """The envelope error for a failed database call."""
    state = sqlstate(exc)
    if state in RACE_LOST:
        return Conflict(
            "The request collided with a concurrent change and was rolled back; retry it.",
            code="concurrent_update",
            headers={"Retry-After": "1"},
        )
    if state in TIMED_OUT:
        return ServiceUnavailable(
            "The database could not finish the request in time (a row it needed stayed "
            "busy); nothing was changed. Retry it.",
            code=TIMED_OUT[state],
            headers={"Retry-After": "2"},
        )
    if "database is locked" in str(exc.orig):  # SQLite: another writer holds the file
        return ServiceUnavailable(
            "The database is busy; nothing was changed. Retry it.",
            code="database_busy",
            headers={"Retry-After": "1"},
        )
    unreachable = exc.connection_invalidated or (state or "").startswith(CONNECTION_CLASS)
    if unreachable or (state is None and isinstance(exc, OperationalError)):
        return ServiceUnavailable(
            "The database is unavailable; retry later.",
            code="database_unavailable",
            headers={"Retry-After": "5"},
        )
    return ApiError("An internal error occurred.")
