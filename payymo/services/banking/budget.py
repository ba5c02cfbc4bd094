"""The per-account budget of successful provider calls (GoCardless: 4 per scope per 24 h).

Kept on ``ProviderAccount.provider_calls`` as the times of the calls in the last 24 h, per
scope, and changed only under the account's row lock.
"""

from __future__ import annotations

import datetime as dt

from payymo import runtime
from payymo.models import ProviderAccount

WINDOW = dt.timedelta(hours=24)
SCOPES = ("details", "balances", "transactions")


def _calls(link: ProviderAccount, scope: str, now: dt.datetime) -> list[dt.datetime]:
    stamps = (link.provider_calls or {}).get(scope, [])
    return sorted(t for t in map(dt.datetime.fromisoformat, stamps) if t > now - WINDOW)


def remaining(link: ProviderAccount, scope: str, now: dt.datetime) -> int:
    """Successful calls still allowed for ``scope`` in the 24 h before ``now``."""
    return max(runtime.settings().bank_sync_daily_budget - len(_calls(link, scope, now)), 0)


def available_at(link: ProviderAccount, scope: str, now: dt.datetime) -> dt.datetime:
    """When the next call for ``scope`` is allowed (``now`` when one is left)."""
    calls = _calls(link, scope, now)
    budget = runtime.settings().bank_sync_daily_budget
    if len(calls) < budget:
        return now
    return calls[len(calls) - budget] + WINDOW


def record(link: ProviderAccount, scope: str, now: dt.datetime) -> None:
    """Count one successful call for ``scope``; forget calls older than the window."""
    log = {s: [t.isoformat() for t in _calls(link, s, now)] for s in SCOPES}
    log[scope].append(now.isoformat())
    link.provider_calls = {s: v for s, v in log.items() if v}


def exhaust(link: ProviderAccount, scope: str, now: dt.datetime, until: dt.datetime) -> None:
    """Record that the provider refused ``scope`` until ``until`` (its own count disagrees)."""
    budget = runtime.settings().bank_sync_daily_budget
    stamp = (until - WINDOW).isoformat()
    log = {s: [t.isoformat() for t in _calls(link, s, now)] for s in SCOPES}
    log[scope] = [stamp] * budget
    link.provider_calls = {s: v for s, v in log.items() if v}
