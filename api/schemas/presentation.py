"""How values look on the wire, decided once for every answer: money, timestamps, measured quantities.

- Money is a JSON number (``101.82``), never a string: exact ``Decimal`` inside (four places, see
  ``foundation.money``), converted to a number only when the answer is written. Requests accept numbers
  or decimal strings (``"12.50"``).
- Timestamps are RFC 3339 in UTC with ``Z`` (``2026-11-30T17:31:43.363232Z``): :func:`rfc3339` here and in
  ``foundation.clock``; the tables store them as ``foundation.columns.UtcDateTime`` so that none comes back
  naive, and pydantic writes an aware UTC time with ``Z``.
- Measured quantities are rounded to what they mean (:func:`round_measures`, applied to every JSON answer
  by :class:`api.responses.PresentedJSONResponse`): metres to the centimetre, kilograms to the gram,
  cubic metres to the cubic centimetre, seconds to the millisecond, scores to 6 decimals; so no answer
  says ``101.67999999999999``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainSerializer

from foundation.clock import rfc3339

__all__ = ["Money", "NonNegativeMoney", "money_number", "rfc3339", "round_measures"]


def money_number(value: Decimal) -> float:
    """A money amount as the JSON number it is written as (exact to the four places money keeps)."""
    return float(value)


#: Money in an answer or request: a JSON number out, a number or a decimal string in.
Money = Annotated[Decimal, PlainSerializer(money_number, return_type=float, when_used="json")]
#: Money a request may send: non-negative and below a trillion.
NonNegativeMoney = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e12"), allow_inf_nan=False),
    PlainSerializer(money_number, return_type=float, when_used="json"),
]


def _places(places: int) -> Callable[[float], float]:
    return lambda value: round(value, places)


# A key's unit is its suffix (the contract's own naming: distance_m, weight_kg, volume_m3, arrival_s, ...).
_ROUNDING_BY_SUFFIX: tuple[tuple[str, Callable[[float], float]], ...] = (
    ("_m3", _places(6)),  # cubic metres to the cubic centimetre
    ("_kg", _places(3)),  # kilograms to the gram
    ("_km", _places(5)),  # kilometres to the centimetre
    ("_m", _places(2)),  # metres to the centimetre
    ("_ms", _places(3)),
    ("_s", _places(3)),  # seconds to the millisecond
)
_ROUNDING_BY_NAME: dict[str, Callable[[float], float]] = {"score": _places(6)}
#: Objects whose numeric values are all parts of a score (the match explanation's ``terms``).
_SCORE_PARTS = frozenset({"terms"})


def _rounder(key: str) -> Callable[[float], float] | None:
    by_name = _ROUNDING_BY_NAME.get(key)
    if by_name is not None:
        return by_name
    for suffix, rounder in _ROUNDING_BY_SUFFIX:
        if key.endswith(suffix):
            return rounder
    return None


def round_measures(content: Any, rounder: Callable[[float], float] | None = None) -> Any:
    """``content`` (decoded JSON) with every float under a unit-suffixed key rounded to that unit's precision.

    Integers, strings, coordinates (``lat``/``lng``), ratios and money are left as they are; a list takes
    the rounding of the key that holds it (``durations_s: [[...]]``).
    """
    if isinstance(content, float):
        return rounder(content) if rounder is not None else content
    if isinstance(content, dict):
        presented = {}
        for key, value in content.items():
            if key in _SCORE_PARTS and isinstance(value, dict):
                presented[key] = {part: round_measures(term, _places(6)) for part, term in value.items()}
            else:
                presented[key] = round_measures(value, _rounder(key) if isinstance(key, str) else None)
        return presented
    if isinstance(content, list):
        return [round_measures(item, rounder) for item in content]
    return content
