"""Two offboardings of one tenant racing on PostgreSQL: the second waits, then answers the first's record."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from payymo import db
from payymo.models import Partner, Tenant, TenantOffboarding
from payymo.services.partners import offboarding
from payymo.services.partners.accounts import create_partner
from payymo.services.partners.tenants import provision_tenant
from tests.concurrency import Blocked

pytestmark = pytest.mark.postgres


@pytest.fixture
def owned(app):
    factory = sessionmaker(bind=db.engine(), expire_on_commit=False)
    with factory() as session:
        partner, _secret = create_partner(session=session, name="Race Partner")
        tenant, _key = provision_tenant(
            session=session, partner_id=partner.id, name="Race Ltd", currency="EUR"
        )
        session.commit()
    try:
        yield factory, partner.id, tenant.id
    finally:
        with factory() as session:
            session.execute(
                delete(TenantOffboarding).where(TenantOffboarding.partner_id == partner.id)
            )
            session.execute(delete(Tenant).where(Tenant.id == tenant.id))
            session.execute(delete(Partner).where(Partner.id == partner.id))
            session.commit()


def _offboard(factory, partner_id: str, tenant_id: str) -> str:
    with factory() as session:
        record = offboarding.offboard(session=session, partner_id=partner_id, tenant_id=tenant_id)
        session.commit()
        return record.id


def test_a_second_offboarding_waits_and_answers_the_first_record(owned):
    factory, partner_id, tenant_id = owned
    with factory() as session:
        first = offboarding.offboard(session=session, partner_id=partner_id, tenant_id=tenant_id)
        second = Blocked.start(db.engine(), lambda: _offboard(factory, partner_id, tenant_id))
        session.commit()
    assert second.result() == first.id
    with factory() as session:
        count = select(func.count()).where(TenantOffboarding.tenant_id == tenant_id)
        assert session.scalar(count) == 1
