"""How values look on the wire, decided once for every answer: money, timestamps, measured quantities.

- Money is a JSON number (``101.82``), never a string: exact ``Decimal`` inside (four places, see
  ``foundation.money``), converted to a number only when the answer is written. Requests accept numbers
  or decimal strings (``"12.50"``).
- Timestamps are RFC 3339 in UTC with ``Z`` (``2026-11-30T17:31:43.363232Z``): :func:`rfc3339` here and in
  ``foundation.clock``; the tables store them as ``foundation.columns.UtcDateTime`` so that none comes back
  naive, and pydantic writes an aware UTC time with ``Z``.
- Measured quantities are rounded to what they mean (:func:`present_json`, applied to every JSON answer
  by :class:`api.responses.PresentedJSONResponse`): metres to the centimetre, kilograms to the gram,
  cubic metres to the cubic centimetre, seconds to the millisecond, scores to 6 decimals; so no answer
  says ``101.67999999999999``. The same pass turns money that JSON kept in the database holds as decimal
  strings (exception details) into numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, WithJsonSchema

from foundation.clock import rfc3339

__all__ = ["Money", "NonNegativeMoney", "money_number", "present_json", "rfc3339"]


def money_number(value: Decimal) -> float:
    """A money amount as the JSON number it is written as (exact to the four places money keeps)."""
    return float(value)


#: Money in an answer or request: a JSON number out, a number or a decimal string in.
Money = Annotated[Decimal, PlainSerializer(money_number, return_type=float, when_used="json")]
#: A decimal string a request may send for money: plain digits, at most 12 before the point (below a trillion).
MONEY_STRING_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$"
#: Money a request may send: non-negative and below a trillion, as a number or a plain decimal string (the
#: published schema states both forms; pydantic alone would publish an unconstrained string).
NonNegativeMoney = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e12"), allow_inf_nan=False),
    PlainSerializer(money_number, return_type=float, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1e12},
                {"type": "string", "pattern": MONEY_STRING_PATTERN, "examples": ["12.50"]},
            ]
        },
        mode="validation",
    ),
]


Scalar = Callable[[Any], Any]


def _places(places: int) -> Scalar:
    """Round a float to ``places`` decimals (integers and anything else pass unchanged)."""
    return lambda value: round(value, places) if isinstance(value, float) else value


def _money(value: Any) -> Any:
    """A money amount written as a decimal string (JSON kept in the database, e.g. exception details) as
    the number every answer uses; numbers and non-numeric strings pass unchanged."""
    if isinstance(value, str):
        try:
            amount = Decimal(value)
        except ArithmeticError:
            return value
        return money_number(amount) if amount.is_finite() else value
    return value


# A key's unit is its suffix (the contract's own naming: distance_m, weight_kg, volume_m3, arrival_s, ...).
_BY_SUFFIX: tuple[tuple[str, Scalar], ...] = (
    ("_m3", _places(6)),  # cubic metres to the cubic centimetre
    ("_kg", _places(3)),  # kilograms to the gram
    ("_km", _places(5)),  # kilometres to the centimetre
    ("_m", _places(2)),  # metres to the centimetre
    ("_ms", _places(3)),
    ("_s", _places(3)),  # seconds to the millisecond
    ("_price", _money),  # unit_price, quoted_unit_price, catalogue_unit_price
    ("_limit", _money),  # credit_limit, temporary_credit_limit, effective_limit, effective_credit_limit
    ("_amount", _money),  # overdue_amount
    ("_exposure", _money),  # open_exposure
    ("_total", _money),  # order_total
)
_BY_NAME: dict[str, Scalar] = {
    "score": _places(6),
    "amount": _money,
    "total": _money,
    "rate_per_km": _money,
    "base_fare": _money,
    "tolerance": _money,  # ratios kept as decimal strings beside prices: numbers like them
    "deviation": _money,  # ("inf" stays a string)
}
#: Objects whose numeric values are all parts of a score (the match explanation's ``terms``).
_SCORE_PARTS = frozenset({"terms"})
_SCORE_PLACES = _places(6)


@functools.lru_cache(maxsize=4096)
def _presenter(key: str) -> Scalar | None:
    """The presentation of a key's values (by name, else by unit suffix), looked up once per key name:
    an order's answer has ~150 keys and the suffix scan was a third of ``present_json``'s time."""
    by_name = _BY_NAME.get(key)
    if by_name is not None:
        return by_name
    for suffix, presenter in _BY_SUFFIX:
        if key.endswith(suffix):
            return presenter
    return None


def present_json(content: Any, scalar: Scalar | None = None) -> Any:
    """``content`` (decoded JSON) as every answer shows it: a float under a unit-suffixed key rounded to the
    unit's precision, money written as a decimal string (older JSON in the database) made a number.

    Integers, other strings, coordinates (``lat``/``lng``) and ratios are left as they are; a list takes
    the presentation of the key that holds it (``durations_s: [[...]]``).
    """
    if isinstance(content, dict):
        presented = {}
        for key, value in content.items():
            if key in _SCORE_PARTS and isinstance(value, dict):
                presented[key] = {part: present_json(term, _SCORE_PLACES) for part, term in value.items()}
            else:
                presented[key] = present_json(value, _presenter(key) if isinstance(key, str) else None)
        return presented
    if isinstance(content, list):
        return [present_json(item, scalar) for item in content]
    if scalar is not None and not isinstance(content, bool):
        return scalar(content)
    return content
