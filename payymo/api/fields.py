"""Strict marshmallow fields shared by the API schemas."""

from __future__ import annotations

import datetime as dt
import operator
import re
from decimal import Decimal

from marshmallow import ValidationError, fields, validate
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from payymo import money
from payymo.matching import patterns


class FullMatch(validate.Regexp):
    """``validate.Regexp`` over the whole value (``re.match`` with ``$`` lets "ok\\n" through)."""

    def __init__(self, regex: str, flags: int = 0, *, error: str | None = None):
        # anchored for the OpenAPI ``pattern`` (a search there); fullmatch does the work here
        super().__init__(f"^(?:{regex})$", flags, error=error)

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


NO_CONTROL = FullMatch(r"[^\x00-\x1f\x7f]*", error="must not contain control characters")
# PostgreSQL text cannot hold NUL; multi-line fields allow the other control characters.
NO_NUL = FullMatch(r"[^\x00]*", error="must not contain NUL characters")
NOT_BLANK = FullMatch(r"\s*\S.*", flags=re.DOTALL, error="must not be blank")


class StrictBoolean(fields.Boolean):
    """A JSON ``true``/``false`` only (no "yes", 1 or "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean; send true or false.")
        return value


class StrictInteger(fields.Integer):
    """An integer that refuses floats, strings and booleans."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})")
_QUERY_INTEGER = re.compile(r"-?[0-9]{1,18}")
MINOR_UNITS_RULE = "amounts are integers in minor units (cents): 100.50 is 10050"


def minor_units_hint(value: float | str, currency: str | None) -> str:
    """Why ``value`` (a float or a numeric string) is no amount, and what it would be.

    ``currency`` (from the same body or row) gives the exponent: 100.50 GBP is 10050,
    1.005 BHD is 1005, and 100.5 JPY has no minor-units form at all.
    """
    text = value.strip() if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(text):
        return f"Not a valid integer: {MINOR_UNITS_RULE}."
    amount = Decimal(text)
    if not amount.is_finite() or abs(amount) >= money.MAX_MINOR_UNITS:
        return f"Not a valid amount: {MINOR_UNITS_RULE}."
    if isinstance(value, str) and "." not in text:
        return (
            f"amounts are integers in minor units, sent as JSON numbers, not strings: "
            f'send {int(amount)}, not "{text}".'
        )
    if currency is None:
        cents = amount.scaleb(2)
        if cents != cents.to_integral_value():
            return f"{MINOR_UNITS_RULE}."
        return f"amounts are integers in minor units (cents): {amount:.2f} is {int(cents)}."
    places = money.exponent(currency)
    minor = amount.scaleb(places)
    if minor == minor.to_integral_value():
        minor = int(minor)
        display = money.to_display(minor, currency)
        return f"amounts are integers in minor units: {display} {currency} is {minor}."
    if places == 0:
        return (
            f"amounts are integers in minor units, and {currency} has no minor units: "
            f"{text} {currency} is not a whole number of {currency}."
        )
    return (
        f"amounts are integers in minor units, and {currency} has {places} decimal places: "
        f"{text} {currency} has no exact minor-units form."
    )


def _currency_beside(data) -> str | None:
    """The valid currency in the same body, row or query string, if any."""
    try:
        return money.currency_code(data.get("currency"))
    except AttributeError:  # not a mapping
        return None


class Amount(fields.Integer):
    """Integer minor units; a float or numeric string is refused, saying what it should be.

    Positive by default; ``signed`` for bank lines, ``minimum`` for another floor. In a
    query string (``query=True``) every value is text, so digits read as the integer.
    """

    def __init__(
        self, *, signed: bool = False, minimum: int | None = None, query: bool = False, **kwargs
    ):
        if minimum is None:
            minimum = -money.MAX_MINOR_UNITS + 1 if signed else 1
        kwargs.setdefault("validate", validate.Range(min=minimum, max=money.MAX_MINOR_UNITS - 1))
        metadata = {"description": "Integer minor units (cents); never a float."}
        kwargs["metadata"] = metadata | kwargs.get("metadata", {})
        super().__init__(strict=True, **kwargs)
        self.query = query

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if self.query and isinstance(value, str) and _QUERY_INTEGER.fullmatch(value):
            value = int(value)
        if isinstance(value, float | str):
            raise ValidationError(minor_units_hint(value, _currency_beside(data)))
        return super()._deserialize(value, attr, data, **kwargs)


def Display(amount, *, keyed: bool = False) -> fields.Function:
    """Minor units as the decimal string ``money.to_display`` gives, e.g. ``"12.30"``.

    ``amount`` names the attribute (or, ``keyed``, the dict key) holding the minor units
    beside a ``currency``, or is a function of the object giving them.
    """
    get = operator.itemgetter if keyed else operator.attrgetter
    currency = get("currency")
    value = amount if callable(amount) else get(amount)
    return fields.Function(
        lambda obj: money.to_display(value(obj), currency(obj)),
        metadata={
            "type": "string",
            "description": "The amount in major units, e.g. 12.30 (JPY 1230, BHD 12.300)",
        },
    )


class CurrencyCode(fields.String):
    """An ISO 4217 code with a minor unit, in any case; loaded as upper case."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "metadata",
            {
                "description": "ISO 4217 code, e.g. EUR (any case: eur is EUR)",
                "example": "EUR",
                "pattern": "^[A-Za-z]{3}$",
            },
        )
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        code = money.currency_code(raw)
        if code is None:
            raise ValidationError(f"'{raw[:10]}' is not an ISO 4217 currency code.")
        return code


_UNIX_TEXT = re.compile(r"-?[0-9]{1,20}")
# 9999-12-31T23:59:59Z: the last second a Python datetime holds.
MAX_UNIX_SECONDS = 253_402_300_799
UNIX_EXAMPLE = "1793491200 is 2026-11-01T00:00:00Z"


def from_unix(seconds: int) -> dt.datetime:
    """Unix seconds as an aware UTC datetime; ``ValidationError`` for absurd values."""
    if seconds < 0:
        raise ValidationError(
            f"unix time counts seconds since 1970-01-01T00:00:00Z and is never negative "
            f"({UNIX_EXAMPLE})."
        )
    if seconds > MAX_UNIX_SECONDS:
        if seconds // 1000 <= MAX_UNIX_SECONDS:
            hint = f"{seconds} looks like milliseconds; send seconds ({UNIX_EXAMPLE})."
        else:
            hint = f"{seconds} is past the year 9999; send unix seconds ({UNIX_EXAMPLE})."
        raise ValidationError(f"Not a valid unix time: {hint}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class Timestamp(fields.AwareDateTime):
    """ISO 8601 with an offset, or unix seconds (an integer, read as UTC)."""

    default_error_messages = {
        "invalid": "Not a valid timestamp: send ISO 8601 with an offset "
        "(2026-11-01T00:00:00Z) or unix seconds (1793491200).",
        "invalid_awareness": "Not a valid timestamp: ISO 8601 here needs an offset such as "
        "Z or +01:00 (or send unix seconds, which are UTC).",
    }

    def __init__(self, **kwargs):
        metadata = {
            "description": "ISO 8601 with offset (2026-11-01T00:00:00Z) or unix seconds "
            "(1793491200)"
        }
        kwargs["metadata"] = metadata | kwargs.get("metadata", {})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and _UNIX_TEXT.fullmatch(value):
            value = int(value)  # a query string carries every value as text
        if isinstance(value, float):
            raise ValidationError(f"unix time is whole seconds, an integer ({UNIX_EXAMPLE}).")
        if isinstance(value, int) and not isinstance(value, bool):
            return from_unix(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Iban(fields.String):
    """An IBAN, checksum-validated and normalised to compact upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 50:
            raise ValidationError("Not a valid IBAN.")
        try:
            return IBAN(raw).compact
        except SchwiftyException as exc:
            raise ValidationError(f"Not a valid IBAN: {exc}") from exc


_METADATA_KEY = re.compile(r"[A-Za-z0-9_.\-:]{1,40}")


def validate_metadata(value: dict) -> None:
    """Stripe-like metadata: ≤ 50 keys, keys ≤ 40 chars, string values ≤ 500 chars."""
    if len(value) > 50:
        raise ValidationError("metadata holds at most 50 keys.")
    for key, item in value.items():
        if not _METADATA_KEY.fullmatch(key):
            raise ValidationError(f"metadata key '{key[:40]}' must be 1-40 of A-Z a-z 0-9 _ . - :")
        if not isinstance(item, str) or len(item) > 500:
            raise ValidationError(f"metadata['{key}'] must be a string of at most 500 characters.")


def Metadata(**kwargs) -> fields.Dict:
    """A flat string → string map."""
    return fields.Dict(
        keys=fields.String(), values=fields.Raw(), validate=validate_metadata, **kwargs
    )


def Text(max_length: int, **kwargs) -> fields.String:
    """A string with a maximum length."""
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


def _usable_pattern(value: str) -> None:
    if not 1 <= len(value) <= patterns.MAX_PATTERN:
        return  # the length check says so
    try:
        patterns.validate_pattern(value)
    except patterns.InvalidPattern as exc:
        raise ValidationError(str(exc)) from None


_PATTERN_CONTROLS = FullMatch(
    r"[^\x00-\x1f\x7f]*",
    error="must not contain control characters; write them as escapes such as \\n or \\t",
)


def ReferencePattern(**kwargs) -> fields.String:
    """A tenant reference pattern that RE2 compiles within the caps; a 400 says why not."""
    return fields.String(
        validate=[
            validate.Length(
                min=1,
                max=patterns.MAX_PATTERN,
                error=f"A reference pattern has 1 to {patterns.MAX_PATTERN} characters.",
            ),
            _PATTERN_CONTROLS,
            _usable_pattern,
        ],
        metadata={
            "description": "RE2 regular expression, case-insensitive; its group 'ref' (else "
            "group 1, else the whole match) is the reference. No backreferences or lookaround."
        },
        **kwargs,
    )
