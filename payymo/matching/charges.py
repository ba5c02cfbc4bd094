"""Bank charges and FX shortfalls: when a credit a little short of an invoice pays it in full.

An international transfer often arrives short of the invoice by what a bank along the
way kept. The rule, in the invoice's currency (amounts per its exponent):

- a fixed charge: from ``FIXED_MIN`` to ``FIXED_MAX`` hundredths of a major unit
  (0.50 to 25.00: 50 to 2500 minor units of EUR, 1 to 25 of JPY, 500 to 25000 of BHD),
  and at most a tenth of the open amount (a 20.00 shortfall on a 30.00 invoice is an
  instalment, not a charge); or
- an FX or percentage shortfall: at most ``FX_PERCENT`` % of the open amount.

The engine reads such a shortfall as a charge only on a candidate the remittance names
(invoice reference, exact or without its prefix, or the customer reference).
"""

from __future__ import annotations

from functools import lru_cache

from payymo.money import MoneyError, exponent

FIXED_MIN = 50  # hundredths of a major unit: 0.50
FIXED_MAX = 2500  # 25.00
FIXED_SHARE = 10  # a fixed charge is at most 1/10 of the open amount
FX_PERCENT = 2


@lru_cache(maxsize=256)
def fixed_range(currency: str) -> tuple[int, int]:
    """The fixed-charge range in minor units of ``currency`` (at least one minor unit)."""
    try:
        places = exponent(currency)
    except MoneyError:
        places = 2
    scale = 10**places
    return max(1, FIXED_MIN * scale // 100), max(1, FIXED_MAX * scale // 100)


def is_plausible_charge(short: int, open_amount: int, currency: str) -> bool:
    """True when paying ``open_amount - short`` of ``open_amount`` looks like a bank charge."""
    if short <= 0 or short >= open_amount:
        return False
    if short * 100 <= open_amount * FX_PERCENT:
        return True
    low, high = fixed_range(currency)
    return low <= short <= high and short * FIXED_SHARE <= open_amount


def max_charged_open(amount: int, currency: str) -> int:
    """The largest open amount a credit of ``amount`` could pay less a plausible charge."""
    high = fixed_range(currency)[1]
    # open - open * 2 % <= amount  <=>  open <= amount * 100 / 98
    return max(amount + high, amount * 100 // (100 - FX_PERCENT))
