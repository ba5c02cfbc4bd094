"""Backfill from Stripe's lists: payments and payouts created since the last sync.

A walk goes page by page, newest first, and saves where it stands after each page in the
link's ``sync_cursors`` (the caller commits per page), so a walk stopped by a 429 or an
outage resumes where it was and duplicates nothing (each object is written by its Stripe
id). A finished walk remembers when it started, less an hour, for the next one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from integrations.stripe.client import StripeAccount
from payymo.models import StripeLink
from payymo.services.stripe import mirror

LISTS = ("payment_intents", "payouts")
PAGE = 100
OVERLAP = 3600  # seconds: objects created while the previous walk ran come again


def walk_page(
    *,
    session: Session,
    stripe: StripeAccount,
    link: StripeLink,
    kind: str,
    now: dt.datetime,
    page_size: int = PAGE,
) -> tuple[int, bool]:
    """Fetch and write one page of ``kind``; answers (objects written, whether more follow)."""
    cursor = dict((link.sync_cursors or {}).get(kind) or {})
    cursor.setdefault("started", int(now.timestamp()))
    params: dict = {"limit": page_size}
    if cursor.get("since"):
        params["created"] = {"gte": cursor["since"]}
    if cursor.get("after"):
        params["starting_after"] = cursor["after"]
    items, more = stripe.list_page(kind, params)
    for item in items:
        if kind == "payment_intents":
            mirror.refresh_payment(session, stripe, item["id"])
        else:
            mirror.refresh_payout(session, stripe, item["id"])
    if more and items:
        cursor["after"] = items[-1]["id"]
    else:
        cursor = {"since": cursor["started"] - OVERLAP}
    link.sync_cursors = {**(link.sync_cursors or {}), kind: cursor}
    if not more:
        link.last_synced_at = now
    session.flush()
    return len(items), more
