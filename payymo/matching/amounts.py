"""Amount evidence: allocating a payment over invoices and the bounded subset-sum search."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

MAX_SUBSET_POOL = 12  # only a customer's 12 oldest open invoices are combined
MAX_SUBSET_SIZE = 4  # at most 4 invoices in one combination
MAX_SUBSETS = 3  # stop after this many combinations are found


def allocate(amount: int, opens: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Spread ``amount`` over (invoice, open amount) pairs in order, capping each at its open."""
    out: list[tuple[int, int]] = []
    left = amount
    for invoice, open_amount in opens:
        if left <= 0:
            break
        take = min(left, open_amount)
        if take > 0:
            out.append((invoice, take))
            left -= take
    return tuple(out)


def subset_sums(
    target: int, opens: Sequence[tuple[int, int]], tolerance: int = 0
) -> list[tuple[int, ...]]:
    """Combinations of 2..4 of the first 12 invoices whose open amounts sum to the target.

    A combination fits when ``target - tolerance <= sum <= target`` (an overpayment within
    the tolerance). Earlier (older) invoices are preferred: combinations are tried in
    lexicographic order of the oldest-first pool, smallest combinations first.
    """
    pool = [(inv, amt) for inv, amt in opens[:MAX_SUBSET_POOL] if 0 < amt <= target]
    if len(pool) < 2 or sum(amt for _, amt in pool) < target - tolerance:
        return []
    low = target - tolerance
    found: list[tuple[int, ...]] = []
    for size in range(2, min(MAX_SUBSET_SIZE, len(pool)) + 1):
        for combo in combinations(pool, size):
            total = 0
            for _, amt in combo:
                total += amt
            if low <= total <= target:
                found.append(tuple(inv for inv, _ in combo))
                if len(found) >= MAX_SUBSETS:
                    return found
    return found
