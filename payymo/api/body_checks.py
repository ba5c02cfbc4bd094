"""Request bodies: size limits per endpoint (413) and JSON only (415; statement files
multipart), before any work."""

from __future__ import annotations

from flask import request

from payymo.errors import PayloadTooLarge, UnsupportedMediaType
from payymo.services.statements.importer import MAX_FILE_BYTES, too_large

BODY_LIMIT = 256 * 1024
BATCH_BODY_LIMIT = 1024 * 1024
BATCH_SUFFIXES = ("/batch", "/import")
# A statement file of up to 20 MB, and the multipart envelope around it.
FILE_BODY_LIMIT = MAX_FILE_BYTES + 64 * 1024
FILE_SUFFIXES = ("/statements",)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# The portal's pages post HTML forms; everything else takes JSON.
FORM_PATHS = ("/portal/",)


def body_limit(path: str) -> int:
    """The largest body ``path`` accepts."""
    if path.endswith(FILE_SUFFIXES):
        return FILE_BODY_LIMIT
    return BATCH_BODY_LIMIT if path.endswith(BATCH_SUFFIXES) else BODY_LIMIT


def _too_large(path: str, limit: int) -> PayloadTooLarge:
    if path.endswith(FILE_SUFFIXES):
        return too_large()
    return PayloadTooLarge(f"The request body is over {limit // 1024} KB for this endpoint.")


def check() -> None:
    """Refuse an oversized body (413) or a non-JSON one on a write (415; the portal's forms
    excepted)."""
    limit = body_limit(request.path)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.path, limit)
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if request.content_length is None and has_body:
        # A chunked body has no length to check up front, and werkzeug silently truncates
        # it at the limit: read one byte past it so an oversized body is refused instead.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise _too_large(request.path, limit)
    if request.path.startswith(FORM_PATHS):
        return
    if request.path.endswith(FILE_SUFFIXES):
        if request.method == "POST" and request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType(
                "Send the statement as multipart/form-data, the file in the field 'file'.",
                param="Content-Type",
            )
        return
    if request.method in MUTATING and has_body and request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.", param="Content-Type")
