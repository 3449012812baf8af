"""Money is ``Decimal`` with four places everywhere: the column type and the rounding agree by construction."""

from __future__ import annotations

from decimal import Decimal

MONEY_PLACES = 4
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)  # Decimal("0.0001")


def to_money(value: Decimal | int | float | str) -> Decimal:
    """``value`` as a money amount: converted through ``str`` (no binary-float noise) and rounded to the quantum."""
    return Decimal(str(value)).quantize(MONEY_QUANTUM)
