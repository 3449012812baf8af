"""Tuning knobs of the pick-route solver (``routes.solve``) and of wave batching, as one parameter object.

The defaults are what ``dispatch bench pick`` was tuned with; an operator may override them through
settings (``DISPATCH_PICKING__<FIELD>``, see ``api.settings``), a test or a benchmark by constructing
:class:`PickingParams` directly. They choose *which* solver answers and how long it may take: an exact
method's answer is optimal whichever picks it, a time-limited one (MIP, OR-Tools) may be longer with less
time. A request's own ``time_limit_s`` (the HTTP body's) overrides the default time limits here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Held-Karp's table holds 2**stops * stops entries: past 16 stops it no longer fits in memory.
HELD_KARP_HARD_MAX_STOPS = 16


@dataclass(frozen=True)
class PickingParams:
    """Which pick-route solver runs when, and for how long; see each field."""

    #: ``auto`` solves up to this many stops with Held-Karp (exact, O(2^n n^2)) where the rectangular
    #: frontier DP applies; past it the DP is cheaper.
    held_karp_max_stops: int = 9
    #: The same where the DP does not apply (graph layouts, many blocks): Held-Karp stays cheaper than
    #: the MIP a little longer (~35 ms at 11 stops).
    held_karp_max_stops_no_dp: int = 11
    #: The exact frontier DP (``rect_dp``) runs on rectangular layouts up to this many blocks; its state
    #: space grows steeply with the cross aisles and it is not time-limited, so past it MIP + OR-Tools.
    dp_max_blocks: int = 5
    #: Seconds a pick route may take when the caller gives no time limit (MIP and OR-Tools only).
    time_limit_s: float = 1.0
    #: Seconds per pick task of a wave when the caller gives no time limit.
    wave_time_limit_s: float = 0.5
    #: In ``auto`` mode, the share of the time limit the MIP gets to prove optimality before OR-Tools
    #: takes what is left (``exact``/``mip`` give it all).
    mip_time_share: float = 0.6
    #: OR-Tools gets at least this many seconds after a MIP that ran out of time.
    min_ortools_time_s: float = 0.1
    #: Wave batching (Clarke-Wright savings) considers this many nearest orders per order.
    wave_neighbours: int = 25
    #: The frontier DP memoises states and transitions across calls (same layouts, same shapes); past
    #: this many interned states or memoised transitions (~100 bytes each) the memo starts over.
    dp_max_interned_states: int = 100_000
    dp_max_memo_entries: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("held_karp_max_stops", "held_karp_max_stops_no_dp"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= HELD_KARP_HARD_MAX_STOPS:
                raise ValueError(f"{name} must be an integer from 0 to {HELD_KARP_HARD_MAX_STOPS}, got {value!r}")
        for name in ("dp_max_blocks", "dp_max_interned_states", "dp_max_memo_entries"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not _is_int(self.wave_neighbours) or self.wave_neighbours < 1:
            raise ValueError(f"wave_neighbours must be a positive integer, got {self.wave_neighbours!r}")
        for name in ("time_limit_s", "wave_time_limit_s", "min_ortools_time_s"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 < value < math.inf:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not _is_number(self.mip_time_share) or not 0.0 < self.mip_time_share <= 1.0:
            raise ValueError(f"mip_time_share must be in (0, 1], got {self.mip_time_share!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


DEFAULT_PICKING_PARAMS = PickingParams()

__all__ = ["DEFAULT_PICKING_PARAMS", "HELD_KARP_HARD_MAX_STOPS", "PickingParams"]
