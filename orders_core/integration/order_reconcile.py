"""What an order reconciliation compares, derived from the profile: its key and the mapped fields we also hold.

Default tolerances (docs/RECONCILIATION.md) are the ones a dual run of order systems needs: money to the
cent or 0.01 %, times to a minute (delivery times 5 minutes, promises by calendar day in the source's zone),
coordinates to 1e-4 degree (about 11 m, well above the GCJ-02 round trip and six-decimal rounding), codes
and statuses case-insensitive, text trimmed and width-folded. ``overrides`` replace any of them by field.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from orders_core.integration.profile import Profile
from orders_core.integration.reconcile_rules import FieldKind, FieldRule, ReconcileSpec

DEFAULT_ORDER_RULES: tuple[FieldRule, ...] = (
    FieldRule("order_no", casefold=True),
    FieldRule("customer_id", casefold=True),
    FieldRule("placed_at", FieldKind.DATETIME, seconds_tol=60),
    FieldRule("status", casefold=True),
    FieldRule("delivery_lat", FieldKind.NUMBER, abs_tol=Decimal("0.0001")),
    FieldRule("delivery_lng", FieldKind.NUMBER, abs_tol=Decimal("0.0001")),
    FieldRule("delivery_address"),
    FieldRule("contact_name"),
    FieldRule("contact_phone"),
    FieldRule("cash_on_delivery", casefold=True),
    FieldRule("promised_by", FieldKind.DATE),
    FieldRule("delivered_at", FieldKind.DATETIME, seconds_tol=300),
    FieldRule("priority", casefold=True),
    FieldRule("warehouse_id", casefold=True),
    FieldRule("lines", FieldKind.INTEGER),
    FieldRule("units", FieldKind.INTEGER),
    FieldRule("total", FieldKind.MONEY, abs_tol=Decimal("0.01"), rel_tol=Decimal("0.0001")),
)
#: Aggregates compared when the profile maps the line fields they are made of.
AGGREGATES: dict[str, tuple[str, ...]] = {"lines": ("sku",), "units": ("qty",), "total": ("qty", "unit_price")}


class UnknownTolerance(ValueError):
    """A tolerance override naming a field the reconciliation does not compare, or badly written."""


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def order_spec(profile: Profile, overrides: dict[str, dict[str, Any]] | None = None) -> ReconcileSpec:
    """The reconciliation of orders read through ``profile``: its key, and every default-ruled field it maps."""
    mapped = {spec.name for spec in profile.fields}
    zone = _offset_text(profile.utc_offset_minutes)
    rules = []
    for rule in DEFAULT_ORDER_RULES:
        needed = AGGREGATES.get(rule.name, (rule.name,))
        if rule.name in profile.key or all(name in mapped for name in needed):
            rules.append(replace(rule, timezone=zone) if rule.kind is FieldKind.DATE else rule)
    by_name = {rule.name: rule for rule in rules}
    for name, changes in (overrides or {}).items():
        if name not in by_name:
            raise UnknownTolerance(f"{name!r} is not compared here; compared: {', '.join(by_name)}")
        try:
            by_name[name] = replace(by_name[name], **changes)
        except (TypeError, ValueError) as exc:
            raise UnknownTolerance(f"tolerance of {name!r}: {exc}") from None
    return ReconcileSpec(key=profile.key, fields=tuple(by_name.values()))


def parse_tolerance(text: str) -> tuple[str, dict[str, Any]]:
    """``total=abs:0.05,rel:0.001`` or ``placed_at=s:120`` (the CLI's ``--tolerance``) as an override."""
    name, _, spec = text.partition("=")
    if not name or not spec:
        raise UnknownTolerance(f"{text!r}: write field=abs:X,rel:Y or field=s:SECONDS")
    changes: dict[str, Any] = {}
    for part in spec.split(","):
        kind, _, value = part.partition(":")
        try:
            if kind == "abs":
                changes["abs_tol"] = Decimal(value)
            elif kind == "rel":
                changes["rel_tol"] = Decimal(value)
            elif kind == "s":
                changes["seconds_tol"] = float(value)
            else:
                raise UnknownTolerance(f"{part!r}: abs, rel or s")
        except ArithmeticError:
            raise UnknownTolerance(f"{part!r}: not a number") from None
        except ValueError:
            raise UnknownTolerance(f"{part!r}: not a number") from None
    return name.strip(), changes
