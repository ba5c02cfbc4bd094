"""Retention: events, audit rows and idempotency records past their keeping time are purged."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from payymo.db import utcnow
from payymo.ids import floor_id
from payymo.models import AuditLog, Event, PartnerAuditLog
from payymo.services import retention
from payymo.tenancy import system_scope, tenant_scope
from tasks.maintenance import purge_expired
from tests.helpers import invoice_body

NOW = utcnow()


def _id(prefix: str, days_ago: float, n: int = 0) -> str:
    moment = NOW - dt.timedelta(days=days_ago) + dt.timedelta(milliseconds=n)
    return floor_id(prefix, int(moment.timestamp() * 1000))


def _count(session, model) -> int:
    with system_scope():
        return session.scalar(select(func.count()).select_from(model))


def test_old_events_and_audit_rows_go_new_ones_stay(api, tenant, session, settings, make_partner):
    partner = make_partner("Keeper")
    api.post("invoices", json=invoice_body())  # a recent event and audit row
    with tenant_scope(tenant.tenant_id):
        for n in range(3):
            session.add(Event(id=_id("evt", 91, n), type="invoice.created", data={}))
            session.add(AuditLog(id=_id("aud", 401, n), actor="key_x", action="POST /x"))
        session.add(Event(id=_id("evt", 89), type="invoice.created", data={}))
        session.commit()
    session.add(
        PartnerAuditLog(
            id=_id("paud", 401), partner_id=partner.partner_id, actor="pkey_x", action="POST /y"
        )
    )
    session.commit()
    before = {m: _count(session, m) for m in (Event, AuditLog, PartnerAuditLog)}
    with system_scope():
        counts = purge_expired(session, NOW)
    assert counts["events"] == 3 and counts["audit_logs"] == 3
    assert counts["partner_audit_logs"] == 1
    after = {m: _count(session, m) for m in (Event, AuditLog, PartnerAuditLog)}
    assert after == {
        Event: before[Event] - 3,
        AuditLog: before[AuditLog] - 3,
        PartnerAuditLog: before[PartnerAuditLog] - 1,
    }
    with tenant_scope(tenant.tenant_id):
        kept = session.scalars(select(Event.id).order_by(Event.id)).all()
    assert _id("evt", 89) in kept and all(i >= _id("evt", 90) for i in kept)


def test_a_full_batch_is_followed_by_another(tenant, session, settings, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    with tenant_scope(tenant.tenant_id):
        for n in range(5):
            session.add(Event(id=_id("evt", 100, n), type="invoice.created", data={}))
        session.commit()
    with system_scope():
        counts = purge_expired(session, NOW)
    assert counts["events"] == 5
