"""Integer minor units, ISO 4217 exponents, parsing and formatting provider amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from iso4217 import Currency

# A ceiling far above any real invoice that still fits a signed 64-bit column and JSON numbers.
MAX_MINOR_UNITS = 10**15


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def _lookup(code: str) -> Currency:
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code")
    try:
        return Currency(code)
    except ValueError as exc:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code") from exc


def is_currency(code: str) -> bool:
    """True for an active ISO 4217 code with a defined exponent (upper case)."""
    try:
        return _lookup(code).exponent is not None
    except MoneyError:
        return False


def currency_code(value) -> str | None:
    """The upper-case ISO 4217 code ``value`` names in any case ("eur" → "EUR"), or None."""
    if not isinstance(value, str) or not value.isascii():
        return None  # str.upper() maps some non-ASCII letters onto ASCII ones (dotless i → "I")
    code = value.upper()
    return code if is_currency(code) else None


@lru_cache(maxsize=512)
def exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit (JPY 0, EUR 2, BHD 3)."""
    value = _lookup(code).exponent
    if value is None:
        raise MoneyError(f"{code} has no minor unit")
    return value


def to_minor(amount: str | Decimal, currency: str) -> int:
    """Parse a decimal string like ``"-12.30"`` into minor units; reject extra precision."""
    try:
        value = Decimal(amount) if isinstance(amount, str) else amount
    except InvalidOperation as exc:
        raise MoneyError(f"{amount!r} is not a decimal amount") from exc
    if not isinstance(value, Decimal) or not value.is_finite():
        raise MoneyError(f"{amount!r} is not a decimal amount")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimal places than {currency} allows")
    minor = int(scaled)
    if abs(minor) >= MAX_MINOR_UNITS:
        raise MoneyError(f"{amount} is out of range")
    return minor


def to_display(minor: int, currency: str) -> str:
    """Format minor units as a plain decimal string, e.g. ``1230, "EUR" -> "12.30"``."""
    places = exponent(currency)
    if not places:
        return str(minor)
    # Integer arithmetic: exact, and several times faster than Decimal (events, lists).
    whole, fraction = divmod(abs(minor), 10**places)
    return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{places}d}"
