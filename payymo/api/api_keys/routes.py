"""/api/v1/api_keys: list, create, retrieve, revoke, roll (admin scope)."""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView

from payymo import db
from payymo.api.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyList,
    ApiKeyListArgs,
    ApiKeyOut,
    ApiKeyRoll,
    ApiKeyWithSecret,
    IssuedKey,
)
from payymo.api.common import Blueprint, page_args
from payymo.models import ApiKey
from payymo.services import api_keys as service
from payymo.tenancy import get_for_update_or_404, get_or_404

blp = Blueprint("api_keys", __name__, url_prefix="/api_keys", description="API keys")


@blp.route("")
class ApiKeys(MethodView):
    @blp.arguments(ApiKeyListArgs, location="query")
    @blp.response(200, ApiKeyList)
    def get(self, args):
        """List keys, newest first (prefixes only)."""
        return service.list_keys(session=db.session, page=page_args(args))

    @blp.arguments(ApiKeyCreate)
    @blp.response(201, ApiKeyWithSecret)
    def post(self, data):
        """Create a key; the response carries its secret, shown only this once."""
        return IssuedKey(*service.create_key(session=db.session, **data))


@blp.route("/<string:key_id>")
class ApiKeyById(MethodView):
    @blp.response(200, ApiKeyOut)
    def get(self, key_id):
        """Retrieve a key (prefix only)."""
        return get_or_404(db.session, ApiKey, key_id)

    @blp.response(200, ApiKeyOut)
    def delete(self, key_id):
        """Revoke a key now."""
        key = get_for_update_or_404(db.session, ApiKey, key_id)
        return service.revoke_key(session=db.session, key=key)


@blp.route("/<string:key_id>/roll")
class ApiKeyRollView(MethodView):
    @blp.arguments(ApiKeyRoll, required=False)
    @blp.response(201, ApiKeyWithSecret)
    def post(self, data, key_id):
        """Issue a replacement key; the old one keeps working for expires_in_hours (≤ 168)."""
        key = get_for_update_or_404(db.session, ApiKey, key_id)
        grace = dt.timedelta(hours=data["expires_in_hours"])
        return IssuedKey(*service.roll_key(session=db.session, key=key, grace=grace))
