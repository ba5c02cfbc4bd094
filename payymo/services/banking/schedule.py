"""When a connection syncs next: its accounts' budgets spread over the day."""

from __future__ import annotations

import datetime as dt
import random

from payymo import runtime

# Lines booked late (value-dated back) are caught by re-reading a few days before the last.
OVERLAP_DAYS = 5


def interval() -> dt.timedelta:
    """The spacing between a connection's syncs: the day divided by the account budget."""
    return dt.timedelta(hours=24) / max(runtime.settings().bank_sync_daily_budget, 1)


def next_sync(now: dt.datetime, *, not_before: dt.datetime | None = None) -> dt.datetime:
    """The next sync: one interval on (with up to 5 % jitter), never before ``not_before``."""
    step = interval()
    jitter = step * random.uniform(0, 0.05)  # noqa: S311 (spreading load, not security)
    due = now + step + jitter
    return max(due, not_before) if not_before is not None else due


def window_start(
    today: dt.date, synced_through: dt.date | None, max_historical_days: int
) -> dt.date:
    """The first booking date a sync asks for: the overlap before the last, else all history."""
    earliest = today - dt.timedelta(days=max_historical_days)
    if synced_through is None:
        return earliest
    return max(synced_through - dt.timedelta(days=OVERLAP_DAYS), earliest)
