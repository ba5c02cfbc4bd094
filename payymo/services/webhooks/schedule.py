"""The retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — with jitter."""

from __future__ import annotations

import datetime as dt
import random

# Seconds to wait before each attempt; attempt 1 goes at once.
DELAYS = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
ATTEMPTS = len(DELAYS)
JITTER = 0.2  # a retry goes up to 20 % later, so failures do not come back in step
MAX_RETRY_AFTER = 24 * 3600  # a receiver's Retry-After is honoured up to a day
DISABLE_AFTER = dt.timedelta(days=3)  # an endpoint failing this long is disabled


def next_delay(
    step: int, *, retry_after: float | None = None, rng: random.Random | None = None
) -> float | None:
    """Seconds before attempt ``step + 1`` (0-based ``step`` of the one that failed).

    None when the attempts are used up. A ``Retry-After`` longer than the schedule's
    delay is honoured (capped at a day).
    """
    following = step + 1
    if following >= ATTEMPTS:
        return None
    delay = DELAYS[following] * (1 + JITTER * (rng or random).random())
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
