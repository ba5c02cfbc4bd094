"""The embedded default's Stripe: the demo tenant linked to a fake served in-process.

Its key is derived from the instance's secret, so the same key works after a restart
(the fake keeps its accounts in memory, and is told the key again at each start).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import StripeLink, Tenant
from payymo.services.stripe.links import link_account
from payymo.tenancy import system_scope, tenant_scope


def demo_credentials(secret_key: str) -> tuple[str, str]:
    """The demo's test key and webhook secret, stable for an instance."""
    digest = hashlib.sha256(f"payymo-demo-stripe:{secret_key}".encode()).hexdigest()
    return f"sk_test_demo{digest[:32]}", "whsec_demo" + digest[32:64]


def link_demo(*, session: Session, tenant_name: str, api_key: str, webhook_secret: str):
    """Link the demo tenant (if there is one and it is not linked yet); answers its id."""
    with system_scope():
        tenant_id = session.scalars(
            select(Tenant.id).where(Tenant.name == tenant_name).order_by(Tenant.id).limit(1)
        ).one_or_none()
    if tenant_id is None:
        return None
    with tenant_scope(tenant_id):
        if session.scalars(select(StripeLink.id)).one_or_none() is None:
            link_account(session=session, api_key=api_key, webhook_secret=webhook_secret)
    return tenant_id
