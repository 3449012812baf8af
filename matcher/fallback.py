"""Widen the search radius step by step when nobody is close enough, and say so when nobody is found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from foundation.errors import NotFound
from matcher.index import CarrierIndex
from matcher.model import Candidate, MatchQuery


class NoCarrierInRange(NotFound):
    """No eligible carrier within the largest radius tried."""

    code = "no_carrier_in_range"


def match_with_fallback(
    index: CarrierIndex, query: MatchQuery, steps_m: Sequence[float], now_s: float | None = None
) -> tuple[list[Candidate], float]:
    """Match at ``query.radius_m``, then at each larger radius of ``steps_m`` in increasing order.

    Answers the candidates and the radius that found them; raises :class:`NoCarrierInRange` (404) with
    the radii tried when even the widest finds nobody.
    """
    radii = [query.radius_m, *sorted(r for r in steps_m if r > query.radius_m)]
    for radius_m in radii:
        candidates = index.match(replace(query, radius_m=radius_m), now_s=now_s)
        if candidates:
            return candidates, radius_m
    raise NoCarrierInRange(
        f"no eligible carrier within {radii[-1]:.0f} m of the pickup "
        f"({query.pickup_lat:.6f}, {query.pickup_lng:.6f}); radii tried: {', '.join(f'{r:.0f}' for r in radii)} m",
        details={"radii_m": radii},
    )
