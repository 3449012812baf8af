"""Errors of the matrix providers: they name locations by index (0 = depot, 1..n = stops in request order).

A provider only sees points; the caller, who knows the stops, asks for the same error with names
(:meth:`LocationsError.named`), so the 422 the client gets says which stop is at fault.
"""

from __future__ import annotations

from collections.abc import Sequence

from foundation.errors import InvalidInput

#: At most this many locations or pairs are spelled out in a message (all are in ``details``).
MESSAGE_ITEMS = 10


def default_labels(size: int) -> list[str]:
    """``depot``, then ``location 1`` .. ``location n``."""
    return ["depot", *(f"location {i}" for i in range(1, size))]


def _label(labels: Sequence[str] | None, index: int) -> str:
    if labels is not None and 0 <= index < len(labels):
        return labels[index]
    return "depot" if index == 0 else f"location {index}"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MESSAGE_ITEMS])
    return shown if len(items) <= MESSAGE_ITEMS else f"{shown} and {len(items) - MESSAGE_ITEMS} more"


class LocationsError(InvalidInput):
    """A problem tied to some locations of a plan; :meth:`named` re-words it with the caller's names."""

    def named(self, labels: Sequence[str]) -> LocationsError:
        """The same error with locations called by ``labels`` (index 0 the depot)."""
        raise NotImplementedError


class InvalidLocation(LocationsError):
    """A location with impossible coordinates (not finite, latitude outside [-90, 90], ...)."""

    code = "invalid_location"

    def __init__(self, index: int, reason: str, labels: Sequence[str] | None = None) -> None:
        self.index = index
        self.reason = reason
        name = _label(labels, index)
        super().__init__(f"{name}: {reason}", details={"location": name})

    def named(self, labels: Sequence[str]) -> InvalidLocation:
        return InvalidLocation(self.index, self.reason, labels)


class InvalidMatrix(LocationsError):
    """A caller-supplied matrix that cannot be used as given (wrong size, negative or non-finite entries)."""

    code = "invalid_matrix"

    def __init__(self, reason: str, cell: tuple[str, int, int] | None = None, labels: Sequence[str] | None = None):
        self.reason = reason
        self.cell = cell
        message = reason
        details: dict[str, object] = {}
        if cell is not None:
            name, row, col = cell
            origin, destination = _label(labels, row), _label(labels, col)
            message = f"matrix.{name}[{row}][{col}] (from {origin} to {destination}): {reason}"
            details = {"field": name, "row": row, "column": col, "from": origin, "to": destination}
        super().__init__(message, details=details)

    def named(self, labels: Sequence[str]) -> InvalidMatrix:
        return InvalidMatrix(self.reason, self.cell, labels)


class OffRoadNetwork(LocationsError):
    """Locations too far from every road of the network to be snapped onto it."""

    code = "off_road_network"

    def __init__(
        self, indexes: Sequence[int], snap_m: Sequence[float], max_snap_m: float, labels: Sequence[str] | None = None
    ) -> None:
        self.indexes = list(indexes)
        self.snap_m = list(snap_m)
        self.max_snap_m = max_snap_m
        names = [_label(labels, i) for i in self.indexes]
        far = [f"{name} ({d:.0f} m)" for name, d in zip(names, self.snap_m, strict=True)]
        super().__init__(
            f"farther than {max_snap_m:.0f} m from every road of the network: {_listing(far)}",
            details={"locations": names, "snap_m": [round(d, 1) for d in self.snap_m]},
        )

    def named(self, labels: Sequence[str]) -> OffRoadNetwork:
        return OffRoadNetwork(self.indexes, self.snap_m, self.max_snap_m, labels)


class UnreachableLocations(LocationsError):
    """Pairs of locations that no road of the network connects (in that direction): never an infinite cost."""

    code = "unreachable_locations"

    def __init__(self, pairs: Sequence[tuple[int, int]], labels: Sequence[str] | None = None) -> None:
        self.pairs = list(pairs)
        named = [(_label(labels, a), _label(labels, b)) for a, b in self.pairs]
        super().__init__(
            f"no road leads from one location to another: {_listing([f'{a} -> {b}' for a, b in named])}",
            details={"pairs": [list(p) for p in named]},
        )

    def named(self, labels: Sequence[str]) -> UnreachableLocations:
        return UnreachableLocations(self.pairs, labels)
