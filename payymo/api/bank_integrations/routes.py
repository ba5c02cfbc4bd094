"""/api/v1/integrations/{provider}: a tenant's own credentials for its bank-data provider."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import INCLUDE

from payymo import db
from payymo.api.bank_integrations.schemas import CredentialsIn, CredentialsOut
from payymo.api.common import Blueprint
from payymo.services.banking import credentials as service

blp = Blueprint(
    "bank_integrations",
    __name__,
    url_prefix="/integrations",
    description="Bank-data provider credentials",
)


@blp.route("/<string:provider>")
class BankProviderCredentials(MethodView):
    @blp.response(200, CredentialsOut)
    def get(self, provider):
        """Show which credentials the tenant's connections use (masked)."""
        return service.describe_credentials(session=db.session, provider=provider)

    @blp.arguments(CredentialsIn, unknown=INCLUDE)
    @blp.response(200, CredentialsOut)
    def put(self, data, provider):
        """Use the tenant's own provider credentials (checked live, stored encrypted)."""
        return service.put_credentials(session=db.session, provider=provider, data=data)

    @blp.response(200, CredentialsOut)
    def delete(self, provider):
        """Forget the tenant's own credentials; the platform's apply again."""
        return service.delete_credentials(session=db.session, provider=provider)
