"""The one error a statement file as a whole can raise, and its unknown-format case."""

from __future__ import annotations

FORMATS = ("camt.053", "camt.052", "camt.054", "mt940", "ofx", "csv")


class StatementFileError(ValueError):
    """The file as a whole cannot be read; ``where`` points at the place ("line 12")."""

    def __init__(self, message: str, *, where: str | None = None):
        super().__init__(f"{message} ({where})" if where else message)
        self.message = message
        self.where = where


class UnknownFormat(StatementFileError):
    """The bytes are none of the formats this package reads."""

    def __init__(self, detail: str = "not a bank statement file this service can read"):
        super().__init__(f"{detail}; accepted formats: {', '.join(FORMATS)}")
