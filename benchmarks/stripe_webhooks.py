"""Inbound Stripe webhooks: how fast ``POST /webhooks/stripe/{tenant}`` answers, on PostgreSQL.

The app is served over loopback HTTP (werkzeug, threaded) with Redis for its queue, its
adapter pointed at the fake Stripe. A tenant's fake account takes N card payments; their
Stripe-signed events are posted at a steady rate and each answer is timed from send to
receipt, with a replay of every event to show it is stored once. The baseline, measured in
the same run on the same events, is what answering would cost if the handler processed
the event before answering (fetching the payment from Stripe and matching its invoice):
``process_event`` timed per event. It is shown as context, not a goal: against a
loopback fake Stripe's three calls per event cost next to nothing.

Environment: BENCH_ADMIN_URL, BENCH_STRIPE_DB (default payymo_bench_stripe),
BENCH_STRIPE_REDIS_URL (default redis://127.0.0.1:6379/11), BENCH_STRIPE_EVENTS (300),
BENCH_STRIPE_RATE (50 events/s).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhooks import _environment, _goal, _percentile  # noqa: E402

ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = os.environ.get("BENCH_STRIPE_DB", "payymo_bench_stripe")
OWNER_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_STRIPE_REDIS_URL", "redis://127.0.0.1:6379/11")
EVENTS = int(os.environ.get("BENCH_STRIPE_EVENTS", "300"))
RATE = float(os.environ.get("BENCH_STRIPE_RATE", "50"))
WEBHOOK_SECRET = "whsec_benchStripeInbound"  # noqa: S105 (a fake account's)
P99_GOAL = 0.25  # seconds: "well under a second"


def _setup():
    """A fresh database, a tenant linked to a fake account with EVENTS paid invoices."""
    from benchmarks.roles import app_url
    from integrations.stripe.fake import serve_in_thread
    from payymo import db, migrate, runtime
    from payymo.config import load_settings
    from payymo.services import tenants

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(OWNER_URL)
    fake = serve_in_thread()
    os.environ.update(
        _environment(app_url(OWNER_URL))
        | {"PAYYMO_REDIS_URL": REDIS_URL, "PAYYMO_STRIPE_API_BASE": fake.base_url}
    )
    runtime.configure(load_settings())
    tenant = tenants.create_tenant(session=db.session, name="Bench Ltd", default_currency="EUR")
    db.session.commit()
    return fake, tenant.id


def _link_and_pay(fake, tenant_id: str) -> tuple[str, list[dict]]:
    """Link the tenant; one invoice and one card payment per event (made at the fake)."""
    from payymo import db
    from payymo.services import invoices
    from payymo.services.stripe.links import link_account
    from payymo.tenancy import tenant_scope

    account = fake.fake.new_account()
    with tenant_scope(tenant_id):
        link_account(session=db.session, api_key=account.key, webhook_secret=WEBHOOK_SECRET)
        for n in range(EVENTS):
            invoice = invoices.create_invoice(
                session=db.session,
                data={"external_id": f"B-{n}", "amount_due": 10_000 + n, "currency": "EUR"},
            )
            db.session.flush()
            account.ledger.create_payment_intent(
                {
                    "amount": str(10_000 + n),
                    "currency": "eur",
                    "metadata": {"invoice_id": invoice.id},
                    "payment_method": "pm_card_visa",
                    "confirm": "true",
                }
            )
        db.session.commit()
    succeeded = [e for e in account.ledger.events if e["type"] == "payment_intent.succeeded"]
    return account.key, succeeded


def _serve():
    from payymo import create_app, runtime

    server = make_server("127.0.0.1", 0, create_app(runtime.settings()), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _post_all(url: str, events: list[dict]) -> list[float]:
    """POST each event at RATE per second, signed now; answers each answer's latency."""
    from integrations.stripe.fake import sign

    http = requests.Session()
    latencies = []
    start = time.monotonic()
    for n, event in enumerate(events):
        pause = start + n / RATE - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(WEBHOOK_SECRET, body, int(time.time())),
        }
        sent = time.perf_counter()
        answer = http.post(url, data=body, headers=headers, timeout=10)
        latencies.append(time.perf_counter() - sent)
        if answer.status_code != 200:
            raise SystemExit(f"the webhook answered {answer.status_code}: {answer.text}")
    return latencies


def _stored(tenant_id: str) -> int:
    from payymo import db
    from payymo.models import StripeEvent
    from payymo.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        count = db.session.scalar(select(func.count()).select_from(StripeEvent))
        db.session.commit()
    return count


def _process_inline(tenant_id: str) -> list[float]:
    """The baseline: each stored event processed as a handler would before answering."""
    from payymo import db
    from payymo.models import StripeEvent
    from payymo.services.stripe.links import account_of, get_link
    from payymo.services.stripe.process import mark_processed, process_event
    from payymo.tenancy import tenant_scope

    timings = []
    with tenant_scope(tenant_id):
        stripe = account_of(get_link(db.session))
        rows = db.session.scalars(select(StripeEvent).order_by(StripeEvent.id)).all()
        for event in rows:
            started = time.perf_counter()
            mark_processed(event, process_event(db.session, stripe, event))
            db.session.commit()
            timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # the jobs are not run: the baseline does it
    fake, tenant_id = _setup()
    _key, events = _link_and_pay(fake, tenant_id)
    server = _serve()
    url = f"http://127.0.0.1:{server.server_port}/webhooks/stripe/{tenant_id}"
    ok = True
    try:
        _post_all(url, events[:10])  # warm: connections open, code paths loaded
        answers = _post_all(url, events[10:])
        replays = _post_all(url, events)
    finally:
        server.shutdown()
    stored = _stored(tenant_id)
    inline = _process_inline(tenant_id)
    p50, p99 = _percentile(answers, 0.50), _percentile(answers, 0.99)
    base50 = _percentile(inline, 0.50)
    print(
        f"stripe webhooks: {len(answers)} signed payment_intent.succeeded events "
        f"at {RATE:g}/s over loopback HTTP, PostgreSQL + Redis"
    )
    print(
        f"  answered (verified, stored, queued)  p50 {p50 * 1000:6.1f} ms   "
        f"p99 {p99 * 1000:6.1f} ms   max {max(answers) * 1000:6.1f} ms"
    )
    print(
        f"  replayed (each event again)          p50 {_percentile(replays, 0.5) * 1000:6.1f} ms"
        f"   p99 {_percentile(replays, 0.99) * 1000:6.1f} ms"
    )
    print(
        f"  baseline: processed before answering p50 {base50 * 1000:6.1f} ms   "
        f"p99 {_percentile(inline, 0.99) * 1000:6.1f} ms"
    )
    ok &= _goal("answer p99", p99, P99_GOAL, higher=False, unit="s")
    print(
        f"  processing before answering would cost {base50 / p50:.1f}x the answer (against a "
        "loopback fake; Stripe's real calls take far longer)"
    )
    once = stored == len(events)
    print(
        f"  stored once: {stored} rows for {len(events)} events sent twice  "
        f"{'met' if once else 'MISSED'}"
    )
    ok &= once
    print(f"exit {0 if ok else 1}")
    fake.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
