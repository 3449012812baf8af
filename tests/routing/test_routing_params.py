"""RoutingParams as settings: DISPATCH_ROUTING__* fields, checked at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings
from routing.params import RoutingParams
from routing.solvers import DEFAULT_SOLVER


def test_routing_params_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_ROUTING__DETOUR_FACTOR", "1.5")
    monkeypatch.setenv("DISPATCH_ROUTING__SPEED_KMH", "25")
    monkeypatch.setenv("DISPATCH_ROUTING__OSM_PBF", "/data/region.osm.pbf")
    monkeypatch.setenv("DISPATCH_ROUTING__TIME_LIMIT_S", "2")
    monkeypatch.setenv("DISPATCH_ROUTING__MAX_TIME_LIMIT_S", "10")
    routing = Settings().routing
    assert routing == RoutingParams(
        detour_factor=1.5, speed_kmh=25.0, osm_pbf="/data/region.osm.pbf", time_limit_s=2.0, max_time_limit_s=10.0
    )


def test_defaults_plan_on_straight_lines_with_the_default_solver() -> None:
    routing = Settings().routing
    assert routing.osm_pbf is None and routing.detour_factor == 1.3 and routing.speed_kmh == 30.0
    assert routing.solver == DEFAULT_SOLVER


@pytest.mark.parametrize(
    ("name", "value"),
    [("SOLVER", "nope"), ("SPEED_KMH", "0"), ("DETOUR_FACTOR", "0.5"), ("TIME_LIMIT_S", "-1")],
)
def test_nonsense_fails_at_start_up(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"DISPATCH_ROUTING__{name}", value)
    with pytest.raises(ValidationError):
        Settings()
