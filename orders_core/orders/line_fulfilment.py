"""Line by line, how much of what the customer ordered was reserved, loaded and delivered, and why any
units fell short, in the delay taxonomy's codes (``delays``): one vocabulary for the customer's page,
the desk's inbox and the Pareto chart. Pure: plain quantities in, plain quantities out.

Where the numbers come from (read by ``tracking_reads``):

* **ordered**: the order's lines as they stand plus the units a resolution took off them afterwards
  (a short pick shipped as picked, a shortage shipped as available): what the customer asked for;
* **reserved**: stock the order holds or has shipped from (``stock_reservations`` held + consumed);
* **loaded**: units confirmed picked at the warehouse (pick confirmations) or, when the carrier
  collected before any pick was confirmed, the units on its collected shipments: the larger of the two;
* **delivered**: the units on shipments the carrier reported delivered.

Shortfalls, each with its units, in the order the goods move:

* units taken off by a resolution: the resolved exception's code (``short_pick``/``stock_shortage``);
* ``stock_shortage`` while a shortage exception is open: the units still missing from the reservation;
* ``short_pick`` while a short-pick exception is open: the units the picker did not find;
* ``failed_delivery_attempt`` / ``returned_to_warehouse``: units on a shipment whose delivery failed
  (and that is being re-attempted, or sent back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orders_core.orders.delays import DelayCode


@dataclass(frozen=True)
class Shortfall:
    """Units of a line that did not (or not yet) get through a stage, and why."""

    code: DelayCode
    qty: int


@dataclass(frozen=True)
class LineFulfilment:
    """One SKU of the order through the stages."""

    sku: str
    ordered: int
    reserved: int
    loaded: int
    delivered: int
    shortfalls: tuple[Shortfall, ...]


@dataclass(frozen=True)
class FulfilmentFacts:
    """What the stores say about the order's units, per SKU (see the module docstring)."""

    lines: Sequence[tuple[str, int]]
    taken_off: Mapping[str, Sequence[tuple[DelayCode, int]]]
    reserved: Mapping[str, int]
    picked: Mapping[str, int]
    collected: Mapping[str, int]
    delivered: Mapping[str, int]
    #: Units missing from an open stock-shortage exception, and not found by an open short pick.
    open_shortage: Mapping[str, int]
    open_short_pick: Mapping[str, int]
    #: Units on shipments whose delivery failed: (code, qty) per SKU.
    failed: Mapping[str, Sequence[tuple[DelayCode, int]]]


def line_fulfilment(facts: FulfilmentFacts) -> tuple[LineFulfilment, ...]:
    """Every SKU the order has (or had) with its quantities per stage and its shortfalls."""
    current: dict[str, int] = {}
    for sku, qty in facts.lines:
        current[sku] = current.get(sku, 0) + qty
    skus = list(current) + sorted(set(facts.taken_off) - set(current))
    out: list[LineFulfilment] = []
    for sku in skus:
        taken = [Shortfall(code, qty) for code, qty in facts.taken_off.get(sku, ()) if qty > 0]
        ordered = current.get(sku, 0) + sum(s.qty for s in taken)
        reserved = facts.reserved.get(sku, 0)
        shortfalls = list(taken)
        if facts.open_shortage.get(sku, 0) > 0:
            shortfalls.append(
                Shortfall(DelayCode.STOCK_SHORTAGE, min(facts.open_shortage[sku], max(0, ordered - reserved)))
            )
        if facts.open_short_pick.get(sku, 0) > 0:
            shortfalls.append(Shortfall(DelayCode.SHORT_PICK, facts.open_short_pick[sku]))
        shortfalls.extend(Shortfall(code, qty) for code, qty in facts.failed.get(sku, ()) if qty > 0)
        out.append(
            LineFulfilment(
                sku=sku,
                ordered=ordered,
                reserved=reserved,
                loaded=max(facts.picked.get(sku, 0), facts.collected.get(sku, 0)),
                delivered=facts.delivered.get(sku, 0),
                shortfalls=tuple(s for s in shortfalls if s.qty > 0),
            )
        )
    return tuple(out)
