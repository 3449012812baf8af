"""Packaging: how a shipment's goods are split into packages (pieces), each with its child waybill.

Rule (documented in the README): units are packed in the shipment's line order into the current package
while it stays within ``max_kg`` and ``max_m3``; the next unit that would overflow it opens a new package.
A single unit heavier or bulkier than a package limit travels alone as one package. Per line the count
is arithmetic (no loop per unit), so a line of a million units costs what a line of one does. At most
``max_packages`` packages are made: the last one takes whatever remains (its weight says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PackingLimits:
    """The most one package may weigh and take up, and the most packages a shipment is split into."""

    max_kg: float = 30.0
    max_m3: float = 0.25
    max_packages: int = 999

    def __post_init__(self) -> None:
        if not (self.max_kg > 0 and self.max_m3 > 0 and self.max_packages >= 1):
            raise ValueError("package limits must be positive and allow at least one package")


@dataclass(frozen=True)
class ItemUnit:
    """One line's SKU with its per-unit size and the quantity to pack."""

    sku: str
    qty: int
    unit_weight_kg: float
    unit_volume_m3: float


@dataclass
class Package:
    """One package: what is in it and what it weighs."""

    index: int
    items: list[tuple[str, int]] = field(default_factory=list)
    weight_kg: float = 0.0
    volume_m3: float = 0.0

    def add(self, sku: str, qty: int, unit_kg: float, unit_m3: float) -> None:
        if self.items and self.items[-1][0] == sku:
            self.items[-1] = (sku, self.items[-1][1] + qty)
        else:
            self.items.append((sku, qty))
        self.weight_kg += qty * unit_kg
        self.volume_m3 += qty * unit_m3


def _room(capacity: float, used: float, per_unit: float) -> float:
    """How many more units fit by one measure (infinite for weightless or volumeless units)."""
    if per_unit <= 0:
        return math.inf
    units = (capacity - used) / per_unit
    if not math.isfinite(units) or units > 1e15:  # a vanishing unit size: no limit by this measure
        return math.inf
    return max(0.0, math.floor(units + 1e-9))


def pack(units: Sequence[ItemUnit], limits: PackingLimits | None = None) -> list[Package]:
    """Split the units into packages (see the module docstring); an empty shipment is one empty package."""
    limits = limits or PackingLimits()
    packages = [Package(index=1)]
    for unit in units:
        left = unit.qty
        while left > 0:
            current = packages[-1]
            overfull = current.weight_kg > limits.max_kg or current.volume_m3 > limits.max_m3
            if len(packages) >= limits.max_packages:
                fits: float = left  # the last allowed package takes the rest
            elif overfull:
                fits = 0  # it holds an oversize unit, alone
            else:
                fits = min(
                    _room(limits.max_kg, current.weight_kg, unit.unit_weight_kg),
                    _room(limits.max_m3, current.volume_m3, unit.unit_volume_m3),
                )
            if fits < 1:
                if current.items:
                    packages.append(Package(index=len(packages) + 1))
                    continue
                fits = 1  # an oversize unit travels alone
            take = int(min(left, fits))
            current.add(unit.sku, take, unit.unit_weight_kg, unit.unit_volume_m3)
            left -= take
    return packages
