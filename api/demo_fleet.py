"""The demo fleet keeps reporting: while `dispatch serve` runs the demo, its carriers send a fix a minute.

Positions older than ``DISPATCH_MAX_POSITION_AGE_S`` (900 s by default) are not matched, so without this a
demo started a quarter of an hour ago would find no carrier in range and every order would wait on a
``no_carrier_in_range`` exception. Each demo carrier that exists and has a position reports again within
a few tens of metres of where this process first saw it (parked near its warehouse, as in the demo data),
with the current time. Only the demo's own carrier ids are touched, and nothing runs with ``--no-demo``.
"""

from __future__ import annotations

import math
import random
import time
from typing import TYPE_CHECKING

from api.demo import DEMO_CARRIER_IDS
from api.jobs import PeriodicJob
from orders_core.carriers.model import PositionFix
from orders_core.carriers.service import accept_positions, latest_positions

if TYPE_CHECKING:
    from api.container import Container

REPORT_INTERVAL_S = 60.0
JITTER_M = 25.0
_M_PER_DEG_LAT = 111_320.0


class DemoFleet:
    """Re-reports the demo carriers' positions around fixed anchors (no drift however long it runs)."""

    def __init__(self, container: Container, *, seed: int | None = None) -> None:
        self._container = container
        self._rng = random.Random(seed)
        self._anchors: dict[str, tuple[float, float]] = {}

    def report(self, now_s: float | None = None) -> int:
        """Send one fresh fix per demo carrier that has a position; answers how many were accepted."""
        now_s = time.time() if now_s is None else now_s
        for carrier_id, fix in latest_positions(self._container.uow, DEMO_CARRIER_IDS).items():
            self._anchors.setdefault(carrier_id, (fix.lat, fix.lng))
        fixes = [PositionFix(cid, *self._near(lat, lng), now_s) for cid, (lat, lng) in self._anchors.items()]
        if not fixes:
            return 0
        return accept_positions(self._container.uow, self._container.carriers, fixes)

    def _near(self, lat: float, lng: float) -> tuple[float, float]:
        north, east = self._rng.uniform(-JITTER_M, JITTER_M), self._rng.uniform(-JITTER_M, JITTER_M)
        return lat + north / _M_PER_DEG_LAT, lng + east / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))


def start_demo_fleet(container: Container, interval_s: float = REPORT_INTERVAL_S) -> DemoFleet:
    """Report once now, then every ``interval_s`` on a job the container stops when it closes."""
    fleet = DemoFleet(container)
    fleet.report()
    job = PeriodicJob("demo_fleet", interval_s, fleet.report)
    container.jobs.append(job)
    job.start()
    return fleet
