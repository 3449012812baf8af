"""The ways out of a short pick and a stock shortage, as the dispatcher chooses them when approving, and as
the exception's details list them (``details.strategy``). Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from foundation.errors import InvalidInput

SHORT_PICK = "short_pick"
STOCK_SHORTAGE = "stock_shortage"


class Strategy(StrEnum):
    """What approving leads to."""

    #: short pick: a new pick task for the missing units (the order goes back to picking).
    REPICK = "repick"
    #: short pick: ship what was picked; the lines shrink, the remainder's stock is released.
    SHIP_PICKED = "ship_picked"
    #: stock shortage: the order stays held and is retried automatically when stock arrives.
    WAIT_FOR_STOCK = "wait_for_stock"
    #: stock shortage: execute the transfer suggestion; the order is retried when the transfers arrive.
    TRANSFER = "transfer"
    #: stock shortage: ship what is available now; the rest is back-ordered or cancelled.
    SHIP_AVAILABLE = "ship_available"


class Remainder(StrEnum):
    """What happens to the units a partial shipment leaves out."""

    BACKORDER = "backorder"  # a new order for them (linked by ``backorder_of``), through the normal pipeline
    CANCEL = "cancel"  # dropped from the order


#: Strategies per exception kind; the first is the default when the approval names none.
STRATEGIES: dict[str, tuple[Strategy, ...]] = {
    SHORT_PICK: (Strategy.REPICK, Strategy.SHIP_PICKED),
    STOCK_SHORTAGE: (Strategy.WAIT_FOR_STOCK, Strategy.TRANSFER, Strategy.SHIP_AVAILABLE),
}


class StrategyNotApplicable(InvalidInput):
    """The approval names a strategy that does not apply to this kind of exception."""

    code = "strategy_not_applicable"


@dataclass(frozen=True)
class RecoveryChoice:
    """The dispatcher's choice in an approval body."""

    strategy: str | None = None
    remainder: str = Remainder.BACKORDER.value


def chosen_strategy(kind: str, choice: RecoveryChoice | None) -> tuple[Strategy, Remainder]:
    """The strategy to apply (the kind's default when none is named) and the remainder's fate; 422
    ``strategy_not_applicable`` for a strategy of another kind or an unknown remainder."""
    allowed = STRATEGIES[kind]
    name = choice.strategy if choice is not None and choice.strategy else allowed[0].value
    if name not in {s.value for s in allowed}:
        raise StrategyNotApplicable(
            f"strategy {name!r} does not apply to a {kind} exception; choose one of "
            + ", ".join(s.value for s in allowed)
        )
    remainder = choice.remainder if choice is not None else Remainder.BACKORDER.value
    if remainder not in {r.value for r in Remainder}:
        raise StrategyNotApplicable(f"remainder must be backorder or cancel, got {remainder!r}")
    return Strategy(name), Remainder(remainder)


def _option(strategy: Strategy, effect: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"strategy": strategy.value}
    if strategy in (Strategy.SHIP_PICKED, Strategy.SHIP_AVAILABLE):
        body["remainder"] = "backorder|cancel"
    return {
        "action": strategy.value,
        "how": f"POST /v1/exceptions/{{id}}/approve {body}".replace("'", '"'),
        "effect": effect,
        **extra,
    }


def short_pick_strategies(missing: int) -> dict[str, Any]:
    """``details.strategy`` of a short pick of ``missing`` units."""
    return {
        "default": Strategy.REPICK.value,
        "options": [
            _option(
                Strategy.REPICK, f"a new pick task for the {missing} missing unit(s); the order goes back to picking"
            ),
            _option(
                Strategy.SHIP_PICKED,
                f"ship what was picked: the line shrinks by {missing}, their reservation is released, the order"
                " is loaded once its picks are complete; the rest is back-ordered (a new linked order) or cancelled",
            ),
            {
                "action": "reject",
                "how": "POST /v1/exceptions/{id}/reject",
                "effect": "cancel the order; picked units go back on hand",
            },
        ],
    }


def stock_shortage_strategies(report: Any) -> dict[str, Any]:
    """``details.strategy`` of a stock shortage (``report``: allocation's ShortageReport)."""
    transfers = [
        {"from_warehouse_id": t.from_warehouse_id, "to_warehouse_id": t.to_warehouse_id, "sku": t.sku, "qty": t.qty}
        for t in report.transfers
    ]
    options = [
        _option(
            Strategy.WAIT_FOR_STOCK,
            "the order stays on hold and is retried automatically when stock arrives (PUT stock, a transfer"
            " received), highest priority first, then oldest first",
        ),
        _option(
            Strategy.TRANSFER,
            "move the suggested stock between warehouses (POST /v1/transfers, one per source warehouse);"
            " the order is retried when the transfers are received",
            transfers=transfers,
        ),
        _option(
            Strategy.SHIP_AVAILABLE,
            "ship what is available now; the rest is back-ordered (a new linked order) or cancelled",
        ),
        {"action": "reject", "how": "POST /v1/exceptions/{id}/reject", "effect": "cancel the order"},
    ]
    return {"default": Strategy.WAIT_FOR_STOCK.value, "options": options}
