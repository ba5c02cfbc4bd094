"""The flask-smorest Api and its resource blueprints under /api/v1."""

from __future__ import annotations

import marshmallow
from flask import Flask
from flask_smorest import Api
from marshmallow import Schema

from payymo.api import docs
from payymo.api.errors import error_response, http_error
from payymo.api.openapi import SERVERS, ExampleDocs, LifecycleDocs
from payymo.api.openapi import fields as openapi_fields


# marshmallow.fields in full: the package also has a ``fields`` submodule (payymo.api.fields).
class ErrorBody(Schema):
    """The error envelope's inner object."""

    type = marshmallow.fields.String()
    code = marshmallow.fields.String()
    message = marshmallow.fields.String()
    param = marshmallow.fields.String(allow_none=True)
    request_id = marshmallow.fields.String(allow_none=True)
    errors = marshmallow.fields.List(marshmallow.fields.Dict())


class ErrorEnvelope(Schema):
    """``{"error": {...}}``: the shape of every failure."""

    error = marshmallow.fields.Nested(ErrorBody)


class PayymoApi(Api):
    """flask-smorest Api answering HTTP errors in our envelope."""

    ERROR_SCHEMA = ErrorEnvelope

    def handle_http_exception(self, error):
        return error_response(http_error(error))


def _blueprints():
    from payymo.api.api_keys.routes import blp as api_keys
    from payymo.api.bank_accounts.routes import blp as bank_accounts
    from payymo.api.bank_connections.routes import blp as bank_connections
    from payymo.api.bank_integrations.routes import blp as bank_integrations
    from payymo.api.events.redelivery import blp as event_redelivery
    from payymo.api.events.routes import blp as events
    from payymo.api.institutions.routes import blp as institutions
    from payymo.api.invoices.routes import blp as invoices
    from payymo.api.jobs.routes import blp as jobs
    from payymo.api.partner.routes import blp as partner_tenants
    from payymo.api.partner_branding.routes import blp as partner_branding
    from payymo.api.partner_webhook_endpoints.routes import blp as partner_webhook_endpoints
    from payymo.api.reconciliation.routes import blp as reconciliation
    from payymo.api.reconciliation_run.routes import blp as reconciliation_run
    from payymo.api.stripe.routes import blp as stripe
    from payymo.api.stripe_integration.routes import blp as stripe_integration
    from payymo.api.tenant.routes import blp as tenant
    from payymo.api.transactions.routes import blp as transactions
    from payymo.api.webhook_endpoints.routes import blp as webhook_endpoints

    return [
        tenant,
        api_keys,
        invoices,
        bank_accounts,
        institutions,
        bank_connections,
        bank_integrations,
        stripe_integration,
        stripe,
        transactions,
        events,
        webhook_endpoints,
        event_redelivery,
        reconciliation,
        reconciliation_run,
        jobs,
        partner_tenants,
        partner_branding,
        partner_webhook_endpoints,
    ]


def init_api(app: Flask) -> Api:
    """Create the Api on ``app`` and register every resource blueprint."""
    app.config.update(
        API_TITLE="Payymo API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        # ETags would JSON-encode every response a second time; clients sync by cursor.
        ETAG_DISABLED=True,
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI's files come from the app (payymo.api.docs): the page works offline.
        OPENAPI_SWAGGER_UI_URL=docs.swagger_ui_url(),
        OPENAPI_SWAGGER_UI_CONFIG=docs.SWAGGER_UI_CONFIG,
        API_SPEC_OPTIONS={
            "info": {"description": "Open-banking reconciliation. Authenticate with X-API-Key."},
            "components": {
                "securitySchemes": {
                    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                    "Bearer": {"type": "http", "scheme": "bearer"},
                }
            },
            "security": [{"ApiKey": []}, {"Bearer": []}],
            "servers": SERVERS,
        },
    )
    plugins = [LifecycleDocs(), ExampleDocs(), openapi_fields.SchemaRules()]
    api = PayymoApi(app, spec_kwargs={"extra_plugins": plugins})
    openapi_fields.install(api)
    for blp in _blueprints():
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    from payymo.api.stripe_webhooks.routes import blp as stripe_webhooks

    # Outside /api/v1: Stripe calls it, signed with the tenant's secret, without a key.
    api.register_blueprint(stripe_webhooks)
    from payymo.api.events import catalog

    catalog.register(api.spec)
    docs.install(app)
    app.extensions["payymo_api"] = api
    return api
