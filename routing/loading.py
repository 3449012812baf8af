"""Loading order: what goes into the truck first comes out last, so the last stop is loaded first."""

from __future__ import annotations

from collections.abc import Sequence


def loading_order(delivery_sequence: Sequence[str]) -> tuple[str, ...]:
    """The stop ids in loading order (first loaded first): the delivery sequence reversed."""
    return tuple(reversed(delivery_sequence))
