"""Swagger UI's files, served by the app itself so /api/docs works with no network."""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import version
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request, send_from_directory

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/swagger-ui"
ONE_YEAR = 365 * 24 * 3600
# validatorUrl: Swagger UI would otherwise show a badge image fetched from swagger.io,
# sending it the spec's address, whenever the page is not on localhost.
SWAGGER_UI_CONFIG = {"validatorUrl": None, "deepLinking": True}
# The browser may fetch nothing from anywhere but the app. Inline script and styles stay
# allowed: flask-smorest's page starts Swagger UI inline and React sets style attributes;
# the page reflects no request input.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

blp = Blueprint("docs_assets", __name__)


@cache
def swagger_ui_version() -> str:
    """The installed Swagger UI (flask-swagger-ui's version is the one it ships)."""
    return version("flask-swagger-ui")


@cache
def swagger_ui_dir() -> Path:
    """Where Swagger UI's dist files are installed."""
    # find_spec, not import: only its files are used, not its blueprint.
    spec = importlib.util.find_spec("flask_swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("flask-swagger-ui is not installed")
    return Path(spec.origin).parent / "dist"


def swagger_ui_url() -> str:
    """The versioned base URL the docs page loads Swagger UI from."""
    return f"{ASSETS_PATH}/{swagger_ui_version()}/"


@blp.get(f"{ASSETS_PATH}/<release>/<path:filename>")
def swagger_ui_file(release: str, filename: str) -> Response:
    """One Swagger UI file; its URL names the release, so it may be cached for good."""
    if release != swagger_ui_version():
        abort(404)
    response = send_from_directory(swagger_ui_dir(), filename, max_age=ONE_YEAR)
    response.cache_control.immutable = True
    return response


def _is_docs(path: str) -> bool:
    return path == DOCS_PATH or path.startswith(DOCS_PATH + "/")


def add_security_headers(response: Response) -> Response:
    """Keep the docs page and its files from loading anything off the app."""
    if _is_docs(request.path):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def install(app: Flask) -> None:
    """Serve Swagger UI's files and guard the docs pages on ``app``."""
    app.register_blueprint(blp)
    app.after_request(add_security_headers)
