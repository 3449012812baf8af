"""How one field of two systems' records is read and compared: its kind, its tolerances, its text rules.

A reconciliation compares canonical records (``dict`` field -> value). Values arrive either typed (what a
mapping profile produced: ``Decimal``, ``datetime``, ``str``) or as raw text from a file; each kind turns
both into one comparable form, and a value that cannot be read is an *unparsable* verdict, never a guess.

Tolerances (docs/RECONCILIATION.md): numbers and money agree when
``|ours - theirs| <= max(abs_tol, rel_tol * max(|ours|, |theirs|))`` (exact ``Decimal`` arithmetic, no binary
floats); times when ``|ours - theirs| <= seconds_tol``; text when the normalised strings are equal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class FieldKind(StrEnum):
    """How a field's values are read and compared."""

    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    INTEGER = "integer"
    DATETIME = "datetime"
    DATE = "date"


class UnparsableValue(ValueError):
    """A value that its field's kind cannot read (``"12,3a"`` for money, ``"31/02/2026"`` for a date)."""


class Unparsed(str):
    """A value a reader kept as its raw text because it did not parse (``why`` says how): always unparsable
    here too, even when this field's own rule could read the text (the source's stated format is the law)."""

    why: str

    def __new__(cls, raw: Any, why: str) -> Unparsed:
        value = super().__new__(cls, "" if raw is None else str(raw))
        value.why = why
        return value


_SPACES = re.compile(r"\s+")
_NUMBER_NOISE = str.maketrans("", "", ",_ \u00a0\u3000")  # thousands separators and spaces


_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def zone_of(name: str) -> tzinfo:
    """A time zone from ``UTC``, a fixed offset (``+08:00``) or an IANA name (``Asia/Shanghai``)."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    offset = _OFFSET.match(name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    return ZoneInfo(name)


@dataclass(frozen=True)
class FieldRule:
    """One compared field: kind, tolerances and text normalisation.

    ``abs_tol``/``rel_tol`` apply to numbers and money, ``seconds_tol`` to dates and times; ``formats`` are
    the ``strptime`` formats a raw text date may come in (ISO 8601 is always tried first); naive times are in
    ``timezone``. Text: ``trim`` strips and collapses inner white space, ``casefold`` ignores case,
    ``fold_width`` reads full-width forms (``ＡＢＣ１２３``, ideographic space) as their half-width
    equivalents (Unicode NFKC).
    """

    name: str
    kind: FieldKind = FieldKind.TEXT
    abs_tol: Decimal = Decimal(0)
    rel_tol: Decimal = Decimal(0)
    seconds_tol: float = 0.0
    trim: bool = True
    casefold: bool = False
    fold_width: bool = True
    formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    _zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone_of(self.timezone))
        if self.abs_tol < 0 or self.rel_tol < 0 or self.seconds_tol < 0:
            raise ValueError(f"field {self.name!r}: tolerances cannot be negative")

    def read(self, value: Any) -> Any:
        """``value`` in this field's comparable form; None for an absent value (None or blank text).

        Raises UnparsableValue when the value is present but not of this kind.
        """
        if isinstance(value, Unparsed):
            raise UnparsableValue(value.why)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if self.kind is FieldKind.TEXT:
            return self._text(value)
        if self.kind in (FieldKind.NUMBER, FieldKind.MONEY, FieldKind.INTEGER):
            return self._number(value)
        if self.kind is FieldKind.DATE:
            return self._date(value)
        return self._datetime(value)

    def agree(self, ours: Any, theirs: Any) -> bool:
        """Whether two values already :meth:`read` agree within this field's tolerance (None = None only)."""
        if ours is None or theirs is None:
            return ours is None and theirs is None
        if self.kind in (FieldKind.NUMBER, FieldKind.MONEY, FieldKind.INTEGER):
            allowed = max(self.abs_tol, self.rel_tol * max(abs(ours), abs(theirs)))
            return bool(abs(ours - theirs) <= allowed)
        if self.kind is FieldKind.DATETIME:
            return abs((ours - theirs).total_seconds()) <= self.seconds_tol
        if self.kind is FieldKind.DATE:
            return abs((ours - theirs).days) * 86400 <= self.seconds_tol
        return bool(ours == theirs)

    def gap(self, ours: Any, theirs: Any) -> tuple[str, str]:
        """The absolute and relative difference of two read values, as text for a report ("" when not numeric)."""
        if ours is None or theirs is None:
            return "", ""
        if self.kind in (FieldKind.NUMBER, FieldKind.MONEY, FieldKind.INTEGER):
            delta = theirs - ours
            base = max(abs(ours), abs(theirs))
            relative = f"{(abs(delta) / base):.6f}" if base else ""
            return str(delta), relative
        if self.kind is FieldKind.DATETIME:
            return f"{(theirs - ours).total_seconds():g}s", ""
        if self.kind is FieldKind.DATE:
            return f"{(theirs - ours).days}d", ""
        return "", ""

    def tolerance_text(self) -> str:
        """The tolerance as a report shows it."""
        if self.kind in (FieldKind.NUMBER, FieldKind.MONEY, FieldKind.INTEGER):
            return f"abs {self.abs_tol}, rel {self.rel_tol}"
        if self.kind is FieldKind.DATE and self.seconds_tol < 86400:
            return "same day"
        if self.kind in (FieldKind.DATETIME, FieldKind.DATE):
            return f"{self.seconds_tol:g}s"
        flags = [name for name, on in (("trim", self.trim), ("case", self.casefold), ("width", self.fold_width)) if on]
        return "exact" + (f" ({'/'.join(flags)} folded)" if flags else "")

    def _text(self, value: Any) -> str:
        text = value if isinstance(value, str) else str(value)
        if self.fold_width:
            text = unicodedata.normalize("NFKC", text)
        if self.trim:
            text = _SPACES.sub(" ", text).strip()
        if self.casefold:
            text = text.casefold()
        return text

    def _number(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise UnparsableValue(f"{value!r} is not a number")
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))  # the shortest text that reads back as this float
        else:
            text = unicodedata.normalize("NFKC", str(value)).translate(_NUMBER_NOISE)
            for symbol in ("¥", "￥", "$", "€", "CNY", "RMB"):
                text = text.replace(symbol, "")
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise UnparsableValue(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise UnparsableValue(f"{value!r} is not a finite number")
        if self.kind is FieldKind.INTEGER and number != number.to_integral_value():
            raise UnparsableValue(f"{value!r} is not a whole number")
        return number

    def _datetime(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        else:
            moment = self._parse_text_time(str(value).strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        return moment.astimezone(UTC)

    def _date(self, value: Any) -> date:
        if isinstance(value, datetime):
            return value.astimezone(self._zone).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        moment = self._parse_text_time(str(value).strip())
        return moment.astimezone(self._zone).date() if moment.tzinfo else moment.date()

    def _parse_text_time(self, text: str) -> datetime:
        text = unicodedata.normalize("NFKC", text)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        for pattern in self.formats:
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
        raise UnparsableValue(f"{text!r} is not a date/time in ISO 8601 or {', '.join(self.formats) or 'any format'}")


@dataclass(frozen=True)
class ReconcileSpec:
    """What to reconcile: the key fields (one or more) and the compared fields with their rules.

    Key fields are read as text by their own rule when one is listed (so ``" so-001"`` and ``"SO-001"`` can
    be the same key with ``casefold``), else trimmed and width-folded.
    """

    key: tuple[str, ...]
    fields: tuple[FieldRule, ...]

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a reconciliation needs at least one key field")
        names = [rule.name for rule in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"a field is listed twice: {names}")

    def key_rule(self, name: str) -> FieldRule:
        """The rule that reads key field ``name``."""
        for rule in self.fields:
            if rule.name == name:
                return rule
        return FieldRule(name)

    @property
    def compared(self) -> tuple[FieldRule, ...]:
        """The fields compared value by value (the key fields are what pairs records, not compared)."""
        return tuple(rule for rule in self.fields if rule.name not in self.key)
