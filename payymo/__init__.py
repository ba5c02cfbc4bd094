"""Payymo: multi-tenant open-banking reconciliation."""

from __future__ import annotations

from flask import Flask

from payymo.config import Settings


def create_app(config: Settings | None = None) -> Flask:
    """Build the WSGI app: config → db → api → blueprints → errors. No I/O at import."""
    from payymo import background, runtime
    from payymo.api import errors as api_errors
    from payymo.api import init_api, lifecycle
    from payymo.api.health import blp as health_blp
    from payymo.observability import Metrics, setup_logging
    from payymo.portal import views as portal_views
    from payymo.services.partners.portal_links import SESSION_LIFETIME

    settings = runtime.configure(config)
    setup_logging(settings.log_level)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PAYYMO_SETTINGS=settings,
        JSON_SORT_KEYS=False,
        # The portal's browser session (the API never uses cookies).
        SESSION_COOKIE_NAME="payymo_portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        SESSION_COOKIE_PATH="/portal",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.json.sort_keys = False
    metrics = Metrics(redis_up=runtime.redis_up)
    app.extensions["payymo_metrics"] = metrics
    init_api(app)
    app.register_blueprint(health_blp)
    app.register_blueprint(portal_views.bp)
    api_errors.register(app)
    lifecycle.install(app, metrics)
    # On the embedded default a request's jobs start once its response has been sent.
    app.wsgi_app = background.after_response(app.wsgi_app)
    return app
