"""The job sweep purges an offboarded tenant once its retention has passed (committed data)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from payymo.models import Partner, Tenant, TenantOffboarding
from payymo.services.partners import offboarding
from payymo.services.partners.accounts import create_partner
from payymo.services.partners.tenants import provision_tenant
from tasks.maintenance import sweep_jobs
from tests.reconcile_world import add, invoice_row


def test_the_sweep_purges_an_offboarded_tenant_after_its_retention(sessions):
    with sessions() as session:
        partner, _secret = create_partner(session=session, name="Purge Partner")
        tenant, _key = provision_tenant(
            session=session, partner_id=partner.id, name="Gone Ltd", currency="EUR"
        )
        session.commit()
        partner_id, tenant_id = partner.id, tenant.id
    try:
        with sessions() as session:
            add(session, tenant_id, invoice_row("INV-9", 1_000, "Someone"))
        with sessions() as session:
            record = offboarding.offboard(
                session=session, partner_id=partner_id, tenant_id=tenant_id
            )
            session.commit()
            due = record.purge_after
        assert "tenants_purged" not in sweep_jobs(now=due - dt.timedelta(minutes=1))
        with sessions() as session:
            assert session.get(Tenant, tenant_id) is not None
        assert sweep_jobs(now=due)["tenants_purged"] == 1
        with sessions() as session:
            assert session.get(Tenant, tenant_id) is None
            kept = session.scalars(
                select(TenantOffboarding).where(TenantOffboarding.tenant_id == tenant_id)
            ).one()
            assert kept.purged_at is not None and kept.counts == {
                "invoices": 1,
                "transactions": 0,
            }
        assert "tenants_purged" not in sweep_jobs(now=due + dt.timedelta(days=1))  # once
    finally:
        with sessions() as session:
            session.execute(
                delete(TenantOffboarding).where(TenantOffboarding.partner_id == partner_id)
            )
            session.execute(delete(Tenant).where(Tenant.id == tenant_id))
            session.execute(delete(Partner).where(Partner.id == partner_id))
            session.commit()
