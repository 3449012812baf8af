"""How the console shows times, durations, money and waiting against a target (Jinja2 filters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from markupsafe import Markup

#: An exception waiting longer than this share of its target is shown as near it.
NEAR_TARGET_SHARE = 0.75


def when(moment: datetime | None) -> Markup:
    """A UTC time as ``<time datetime=ISO>YYYY-MM-DD HH:MM UTC</time>`` (an em dash when absent)."""
    if moment is None:
        return Markup("—")
    utc = moment.astimezone(UTC)
    return Markup('<time datetime="{}">{}</time>').format(utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M UTC"))


def duration(seconds: float) -> str:
    """A duration in the two largest units: ``2 d 3 h``, ``1 h 05 min``, ``7 min``, ``40 s``."""
    total = round(abs(seconds))
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def money(amount: Decimal | float | None) -> str:
    """An amount in yuan with two places (an em dash when absent)."""
    return "—" if amount is None else f"¥{Decimal(str(amount)):,.2f}"


@dataclass(frozen=True)
class Waiting:
    """How long something has waited against its target, as the inbox shows it."""

    waited_s: float
    target_s: float

    @property
    def state(self) -> str:
        """``over`` (past the target), ``near`` (past 75 % of it) or ``within``."""
        if self.waited_s > self.target_s:
            return "over"
        return "near" if self.waited_s >= NEAR_TARGET_SHARE * self.target_s else "within"

    @property
    def text(self) -> str:
        """The same in words (colour is never the only signal)."""
        base = f"waited {duration(self.waited_s)} of {duration(self.target_s)}"
        if self.state == "over":
            return f"Over target: {base} (over by {duration(self.waited_s - self.target_s)})"
        if self.state == "near":
            return f"Near target: {base}"
        return f"Within target: {base}"


def waiting(since: datetime, now: datetime, target_s: float) -> Waiting:
    """How long since ``since`` (until ``now``) against ``target_s``."""
    return Waiting(max(0.0, (now - since).total_seconds()), target_s)
