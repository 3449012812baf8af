"""Row storage of the carrier index: one row per carrier, its columns, and the rows' allocation.

A carrier's hot attributes sit in one row-major float64 matrix (``hot_rows``, ``layout.HOT_STRIDE``
floats = 128 bytes per carrier, for the kernels' random access; ``hot`` is its transpose, through which
NumPy code reads and writes whole columns, see :mod:`matcher.layout`). Beside it: the last fix (degrees
and time), the active flag, the H3 cell (0: no position) and vehicle code, and the carrier's id and
master data. Rows are reused after a carrier leaves; the arrays double when full.
"""

from __future__ import annotations

import numpy as np

from foundation.errors import InvalidInput
from matcher.kernel_types import FloatArray, HotColumns, IntArray
from matcher.layout import HOT_STRIDE, TS_EFF
from matcher.model import CarrierProfile


class CarrierRows:
    """The carriers' rows and columns (no locking: the index holds its lock around every call)."""

    def __init__(self, capacity: int) -> None:
        cap = max(16, capacity)
        self.hot_rows: FloatArray = np.zeros((cap, HOT_STRIDE), dtype=np.float64)
        self.hot: FloatArray = self.hot_rows.T
        self.hot[TS_EFF] = -np.inf
        self.lat: FloatArray = np.full(cap, np.nan)
        self.lng: FloatArray = np.full(cap, np.nan)
        self.ts: FloatArray = np.full(cap, -np.inf)
        self.active = np.zeros(cap, dtype=bool)
        self.cell: IntArray = np.zeros(cap, dtype=np.int64)
        self.vcode: IntArray = np.zeros(cap, dtype=np.int64)
        # Row -> carrier id. Replaced, never edited, when a carrier leaves (see free_row).
        self.ids: list[str | None] = [None] * cap
        self.profiles: list[CarrierProfile | None] = [None] * cap
        self.row: dict[str, int] = {}
        self._free: list[int] = list(range(cap - 1, -1, -1))
        self.vehicle_codes: dict[str, int] = {}
        #: The rows as the kernels take them; replaced when the arrays grow.
        self.args = HotColumns(self.hot_rows, self.cell, self.vcode)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def capacity(self) -> int:
        """Rows allocated (used or free)."""
        return len(self.ids)

    def take_row(self, carrier_id: str) -> tuple[int, bool]:
        """The carrier's row, and whether it is new (then taken from the free rows, growing when none is
        left: the caller grows its own per-row arrays to :attr:`capacity`)."""
        row = self.row.get(carrier_id)
        if row is not None:
            return row, False
        if not self._free:
            self._grow(len(self.ids) + 1)
        row = self._free.pop()
        self.row[carrier_id] = row
        self.ids[row] = carrier_id
        return row, True

    def free_row(self, row: int) -> None:
        """Clear a row whose carrier left (its id already popped from :attr:`row`) and make it reusable."""
        self.vcode[row] = 0
        self.hot[:, row] = 0.0
        self.hot[TS_EFF, row] = -np.inf
        self.lat[row] = self.lng[row] = np.nan
        self.ts[row] = -np.inf
        self.active[row] = False
        self.cell[row] = 0
        # A new list rather than an edit: BatchMatches still holding the old one resolve their rows
        # (this carrier's included) correctly; removals are rare, the copy is O(n) pointers.
        self.ids = list(self.ids)
        self.ids[row] = None
        self.profiles[row] = None
        self._free.append(row)

    def vehicle_code(self, vehicle_type: str, resolution: int) -> int:
        """The vehicle type's code (1, 2, ...), assigned on first sight. Codes are XORed into the low bits
        of H3 cells at ``resolution`` (3 bits per unused digit), which bounds how many there can be."""
        code = self.vehicle_codes.get(vehicle_type)
        if code is None:
            code = len(self.vehicle_codes) + 1
            if code >= 1 << (3 * (15 - resolution)):
                raise InvalidInput(f"too many vehicle types for an index at H3 resolution {resolution}")
            self.vehicle_codes[vehicle_type] = code
        return code

    def _grow(self, needed: int) -> None:
        cap = len(self.ids)
        if needed <= cap:
            return
        new_cap = max(needed, cap * 2)
        extra = new_cap - cap
        rows = np.zeros((new_cap, HOT_STRIDE), dtype=np.float64)
        rows[:cap] = self.hot_rows
        rows[cap:, TS_EFF] = -np.inf
        self.hot_rows = rows
        self.hot = rows.T
        self.lat = np.concatenate([self.lat, np.full(extra, np.nan)])
        self.lng = np.concatenate([self.lng, np.full(extra, np.nan)])
        self.ts = np.concatenate([self.ts, np.full(extra, -np.inf)])
        self.active = np.concatenate([self.active, np.zeros(extra, dtype=bool)])
        self.cell = np.concatenate([self.cell, np.zeros(extra, dtype=np.int64)])
        self.vcode = np.concatenate([self.vcode, np.zeros(extra, dtype=np.int64)])
        self.ids.extend([None] * extra)
        self.profiles.extend([None] * extra)
        self._free.extend(range(new_cap - 1, cap - 1, -1))
        self.args = HotColumns(self.hot_rows, self.cell, self.vcode)


__all__ = ["CarrierRows"]
