"""Housekeeping jobs: the job sweep (run by workers every minute) and the idempotency purge."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy.orm import Session

from payymo import idempotency, runtime
from payymo.db import utcnow
from payymo.services import job_sweeper, retention, search_indexes
from payymo.services.banking import scheduler as bank_scheduler
from payymo.services.partners import offboarding
from payymo.services.rollups import upkeep as rollup_upkeep
from payymo.tenancy import tenant_scope
from tasks.base import system_job

log = logging.getLogger(__name__)

SWEEP_BUSY = {"skipped": "another sweep is running"}


@system_job
def purge_idempotency_records(session: Session) -> int:
    """Delete stored Idempotency-Key responses past their lifetime; returns how many."""
    purged = idempotency.purge_expired(session)
    log.info("purged expired idempotency records", extra={"count": purged})
    return purged


@system_job
def sweep_jobs(session: Session, now: dt.datetime | None = None) -> dict:
    """Re-dispatch lost, dead and due-for-retry jobs; returns counts by what was done.

    Each job is re-checked and committed on its own, in its tenant's scope; its dispatch
    follows that commit. One job that cannot be swept does not stop the rest.
    """
    now = now or utcnow()
    with job_sweeper.sweep_lock(session) as held:
        if not held:
            log.info("job sweep skipped: another sweep is running")
            return dict(SWEEP_BUSY)
        counts: Counter[str] = Counter()
        candidates = job_sweeper.stuck_jobs(session=session, now=now)
        session.commit()
        for tenant_id, job_id in candidates:
            with tenant_scope(tenant_id):
                try:
                    outcome = job_sweeper.sweep_job(session=session, job_id=job_id, now=now)
                    session.commit()
                except Exception:
                    session.rollback()
                    log.exception("job sweep failed for a job", extra={"job_id": job_id})
                    outcome = "error"
            counts[outcome] += 1
            if outcome not in ("alive", "locked", "done"):
                log.info("job swept", extra={"job_id": job_id, "outcome": outcome})
        log.info("jobs swept", extra={"counts": dict(counts)})
        for outcome, count in schedule_bank_syncs(session, now).items():
            counts[f"bank_{outcome}"] += count
        for record_id in offboarding.due_for_purge(session=session, now=now):
            if offboarding.purge(session=session, record_id=record_id, now=now):
                counts["tenants_purged"] += 1
            session.commit()
        counts["rollup_deltas_folded"] += fold_rollups(session)
        if merged := merge_search_lists(session):
            counts["search_list_pages_merged"] = merged
        for table, purged in purge_expired(session, now).items():
            counts[f"{table}_purged"] += purged
        if sampled := sample_search_trigrams(session, now):
            counts["search_trigrams_sampled"] = sampled
    return dict(counts)


def sample_search_trigrams(session: Session, now: dt.datetime) -> int:
    """Re-sample the searched columns' common trigrams once a day (PostgreSQL, pg_trgm)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    conn = session.connection()
    kept = 0
    if search_indexes.trigram_installed(conn) and search_indexes.sample_is_stale(conn, now):
        kept = search_indexes.sample_common_trigrams(conn, now)
    session.commit()
    if not kept:
        return 0
    log.info("common search trigrams sampled", extra={"count": kept})
    return kept


def merge_search_lists(session: Session) -> int:
    """Merge the trigram indexes' pending lists (PostgreSQL), so searches read them short."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    merged = search_indexes.merge_pending_lists(session.connection())
    session.commit()
    if merged:
        log.info("search index pending lists merged", extra={"pages": merged})
    return merged


def purge_expired(session: Session, now: dt.datetime) -> dict[str, int]:
    """Purge what is past its keeping time, a committed batch at a time; counts by table."""
    counts = {"idempotency_records": idempotency.purge_expired(session)}
    session.commit()
    for model, prefix, before in retention.boundaries(runtime.settings(), now):
        total = 0
        while True:
            count = retention.purge_batch(session, model, prefix, before=before)
            session.commit()
            total += count
            if count < retention.BATCH:
                break
        counts[model.__tablename__] = total
    return counts


def fold_rollups(session: Session) -> int:
    """Fold every pending rollup delta into its group, a batch per transaction."""
    folded = 0
    while True:
        count = rollup_upkeep.fold(session=session)
        session.commit()
        folded += count
        if count < rollup_upkeep.FOLD_BATCH:
            return folded


def schedule_bank_syncs(session: Session, now: dt.datetime) -> Counter[str]:
    """The bank sync scheduler's pass (``services.banking.scheduler``), one connection at a time."""
    counts: Counter[str] = Counter()
    candidates = bank_scheduler.due(session=session, now=now)
    session.commit()
    for tenant_id, connection_id in candidates:
        with tenant_scope(tenant_id):
            try:
                outcome = bank_scheduler.visit(
                    session=session, connection_id=connection_id, now=now
                )
                session.commit()
            except Exception:
                session.rollback()
                log.exception("bank scheduling failed", extra={"connection_id": connection_id})
                outcome = "error"
        counts[outcome] += 1
    return counts
