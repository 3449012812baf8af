"""POST /v1/dispatch/plan over HTTP: every answer is checked by ``routing.feasibility.check_plan`` (which
calls no solver) against the problem the test builds itself from the request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyrosm
import pytest
from fastapi.testclient import TestClient

from geo.distance import destination_point, haversine_m
from routing.feasibility import check_plan
from routing.model import Point, Route, RoutePlan, RoutingProblem, ScheduledStop, Stop, TravelMatrix, Vehicle
from routing.params import RoutingParams
from routing.solvers import solver_names

from .factories import ADMIN, make_token

DEPOT = {"lat": 52.52, "lng": 13.405}
FAST = 0.3  # seconds per plan: enough for these few stops
DETOUR = 1.3
SPEED_KMH = 30.0


def _at(bearing_deg: float, distance_m: float) -> dict[str, float]:
    lat, lng = destination_point(DEPOT["lat"], DEPOT["lng"], bearing_deg, distance_m)
    return {"lat": lat, "lng": lng}


def _straight_line(locations: list[dict[str, float]]) -> TravelMatrix:
    """The default model as the contract states it (haversine x detour at one speed), computed here."""
    n = len(locations)
    dist = np.zeros((n, n))
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            dist[i, j] = haversine_m(a["lat"], a["lng"], b["lat"], b["lng"]) * DETOUR
    return TravelMatrix(durations_s=dist / (SPEED_KMH / 3.6), distances_m=dist)


def _problem(body: dict[str, Any], allowed: dict[str, set[str]] | None = None) -> RoutingProblem:
    """The problem the request describes; ``allowed`` gives the allowed vehicles the test expects per stop."""
    allowed = allowed or {}
    stops = tuple(
        Stop(
            id=s["id"],
            location=Point(s["location"]["lat"], s["location"]["lng"]),
            demand_kg=s["demand_kg"],
            volume_m3=s.get("volume_m3", 0.0),
            service_s=s.get("service_s", 0.0),
            window=tuple(s["window"]) if "window" in s else None,  # type: ignore[arg-type]
            allowed_vehicles=frozenset(allowed[s["id"]]) if s["id"] in allowed else None,
        )
        for s in body["stops"]
    )
    vehicles = tuple(
        Vehicle(v["id"], v["capacity_kg"], v.get("capacity_m3"), v.get("shift_end_s")) for v in body["vehicles"]
    )
    if "matrix" in body:
        matrix = TravelMatrix(
            np.asarray(body["matrix"]["durations_s"], dtype=float),
            np.asarray(body["matrix"]["distances_m"], dtype=float),
        )
    else:
        matrix = _straight_line([body["depot"], *(s["location"] for s in body["stops"])])
    return RoutingProblem(Point(body["depot"]["lat"], body["depot"]["lng"]), vehicles, stops, matrix)


def _plan(answer: dict[str, Any]) -> RoutePlan:
    routes = tuple(
        Route(
            vehicle_id=r["vehicle_id"],
            stops=tuple(ScheduledStop(s["id"], s["arrival_s"], s["start_s"], s["departure_s"]) for s in r["stops"]),
            distance_m=r["distance_m"],
            duration_s=r["duration_s"],
            load_kg=r["load_kg"],
            load_m3=r["load_m3"],
            loading_order=tuple(r["loading_order"]),
        )
        for r in answer["routes"]
    )
    return RoutePlan(routes=routes, unassigned=tuple(answer["unassigned"]))


def _post(client: TestClient, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> Any:
    return client.post("/v1/dispatch/plan", json=body, headers=headers)


def _feasible(body: dict[str, Any], answer: dict[str, Any], allowed: dict[str, set[str]] | None = None) -> RoutePlan:
    plan = _plan(answer)
    assert check_plan(_problem(body, allowed), plan, tol=1e-5) == []
    for route in answer["routes"]:
        assert route["loading_order"] == [s["id"] for s in reversed(route["stops"])]
    return plan


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(routing=RoutingParams(detour_factor=DETOUR, speed_kmh=SPEED_KMH, time_limit_s=FAST))


@pytest.mark.parametrize("solver", solver_names())
def test_plan_honours_capacity_windows_and_shift_end(make_client: Callable[..., TestClient], solver: str) -> None:
    client = make_client(routing=RoutingParams(detour_factor=DETOUR, speed_kmh=SPEED_KMH, solver=solver))
    stops = [
        {
            "id": f"s{i}",
            "location": _at(i * 36.0, 1500.0 + 150 * i),
            "demand_kg": 40.0,
            "volume_m3": 0.5,
            "service_s": 120,
        }
        for i in range(10)
    ]
    stops[2]["window"] = [0, 900]
    stops[7]["window"] = [1800, 2400]
    body = {
        "depot": DEPOT,
        "start_at": "2030-01-02T08:00:00Z",
        "vehicles": [
            {"id": "v1", "capacity_kg": 160, "capacity_m3": 3, "shift_end_s": 4 * 3600},
            {"id": "v2", "capacity_kg": 160, "capacity_m3": 2.0, "shift_end_s": 4 * 3600},
            {"id": "v3", "capacity_kg": 120, "shift_end_s": 4 * 3600},
        ],
        "stops": stops,
        "time_limit_s": FAST,
    }
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    plan = _feasible(body, data)
    assert data["start_at"] == "2030-01-02T08:00:00Z"
    assert data["matrix_source"] == "straight_line"
    assert (
        data["unassigned"] == []
    )  # 400 kg on 440 kg; v2 holds 4 stops by volume (2 m3), v3 3 by weight: 11 places for 10
    assert data["distance_m"] == pytest.approx(plan.distance_m)
    by_id = {s["id"]: s for r in data["routes"] for s in r["stops"]}
    assert by_id["s2"]["start_s"] <= 900 and by_id["s7"]["start_s"] >= 1800
    assert all(r["load_kg"] <= 160 for r in data["routes"])


def test_start_at_defaults_to_now(client: TestClient) -> None:
    body = {"depot": DEPOT, "vehicles": [{"id": "v", "capacity_kg": 10}], "stops": []}
    before = datetime.now(UTC)
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    start_at = datetime.fromisoformat(answer.json()["start_at"])
    assert before <= start_at <= datetime.now(UTC)
    assert answer.json()["routes"] == [] and answer.json()["unassigned"] == []


def test_a_short_shift_leaves_far_stops_unassigned_never_dropped(client: TestClient) -> None:
    body = {
        "depot": DEPOT,
        "vehicles": [{"id": "v1", "capacity_kg": 100, "shift_end_s": 3000}],
        "stops": [
            {"id": "near", "location": _at(0, 1000), "demand_kg": 60},
            {"id": "other", "location": _at(90, 1000), "demand_kg": 60},  # both fit alone, not together
        ],
    }
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    _feasible(body, data)
    routed = [s["id"] for r in data["routes"] for s in r["stops"]]
    assert len(routed) == 1 and len(data["unassigned"]) == 1
    assert sorted(routed + data["unassigned"]) == ["near", "other"]


def test_the_callers_matrix_is_used_as_given(client: TestClient) -> None:
    # Three stops on a line east of the depot: by coordinates a -> b -> c is obviously best. The caller's
    # matrix makes every step along the line expensive and the zig-zag depot -> c -> a -> b -> depot cheap.
    stops = [{"id": sid, "location": _at(90, 1000 * (i + 1)), "demand_kg": 1} for i, sid in enumerate("abc")]
    big = 10_000.0
    cheap = {(0, 3), (3, 1), (1, 2), (2, 0)}
    cost = [[0.0 if i == j else (10.0 if (i, j) in cheap else big) for j in range(4)] for i in range(4)]
    body = {
        "depot": DEPOT,
        "vehicles": [{"id": "v", "capacity_kg": 10}],
        "stops": stops,
        "matrix": {"durations_s": cost, "distances_m": cost},
    }
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    _feasible(body, data)
    assert data["matrix_source"] == "given" and data["snap_m"] is None
    (route,) = data["routes"]
    assert [s["id"] for s in route["stops"]] == ["c", "a", "b"]
    assert route["distance_m"] == pytest.approx(40.0) and data["distance_m"] == pytest.approx(40.0)
    assert route["stops"][0]["arrival_s"] == pytest.approx(10.0)
    assert route["loading_order"] == ["b", "a", "c"]


def test_carrier_coverage_decides_which_vehicle_may_serve_a_stop(client: TestClient) -> None:
    # The carrier "north-van" covers only the area north of the depot; "spare" is no carrier (no limit).
    north = {
        "type": "Polygon",
        "coordinates": [[[13.3, 52.52], [13.5, 52.52], [13.5, 52.6], [13.3, 52.6], [13.3, 52.52]]],
    }
    carrier = {"name": "North", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 10, "coverage": north}
    assert client.put("/v1/carriers/north-van", json=carrier, headers=ADMIN).status_code == 201
    stops = [
        {"id": "n1", "location": _at(0, 2000), "demand_kg": 10},
        {"id": "n2", "location": _at(20, 3000), "demand_kg": 10},
        {"id": "s1", "location": _at(180, 2000), "demand_kg": 10},
        {"id": "s2", "location": _at(200, 2500), "demand_kg": 10},
    ]
    body = {
        "depot": DEPOT,
        "vehicles": [{"id": "north-van", "capacity_kg": 500}, {"id": "spare", "capacity_kg": 500}],
        "stops": stops,
    }
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    everyone = {"north-van", "spare"}
    allowed = {"n1": everyone, "n2": everyone, "s1": {"spare"}, "s2": {"spare"}}
    _feasible(body, data, allowed)
    served_by = {s["id"]: r["vehicle_id"] for r in data["routes"] for s in r["stops"]}
    assert served_by["s1"] == served_by["s2"] == "spare"
    assert data["unassigned"] == []
    # Without the spare vehicle, the south stops have nobody allowed: unassigned, not an error.
    alone = {**body, "vehicles": [{"id": "north-van", "capacity_kg": 500}]}
    answer = _post(client, alone)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    _feasible(alone, data, {"n1": {"north-van"}, "n2": {"north-van"}, "s1": set(), "s2": set()})
    assert sorted(data["unassigned"]) == ["s1", "s2"]
    assert {s["id"] for r in data["routes"] for s in r["stops"]} == {"n1", "n2"}


def test_explicit_allowed_vehicles_are_respected(client: TestClient) -> None:
    stops = [{"id": f"s{i}", "location": _at(45 * i, 1200), "demand_kg": 5} for i in range(6)]
    stops[0]["allowed_vehicles"] = ["small"]
    stops[3]["allowed_vehicles"] = ["small"]
    body = {
        "depot": DEPOT,
        "vehicles": [{"id": "big", "capacity_kg": 100}, {"id": "small", "capacity_kg": 10}],
        "stops": stops,
    }
    answer = _post(client, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    _feasible(body, data, {"s0": {"small"}, "s3": {"small"}})
    served_by = {s["id"]: r["vehicle_id"] for r in data["routes"] for s in r["stops"]}
    assert served_by["s0"] == served_by["s3"] == "small"


def _error(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = _post(client, body)
    assert answer.status_code == 422, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


def _body(**stop_fields: Any) -> dict[str, Any]:
    stop = {"id": "bad-stop", "location": _at(0, 1000), "demand_kg": 5, **stop_fields}
    return {
        "depot": DEPOT,
        "vehicles": [{"id": "v1", "capacity_kg": 50}, {"id": "v2", "capacity_kg": 80}],
        "stops": [{"id": "fine", "location": _at(90, 1000), "demand_kg": 1}, stop],
    }


@pytest.mark.parametrize(
    ("stop_fields", "code", "fragment"),
    [
        ({"location": {"lat": 95.0, "lng": 13.4}}, "invalid_location", "latitude"),
        ({"location": {"lat": 52.5, "lng": 181.0}}, "invalid_location", "longitude"),
        ({"demand_kg": -1}, "infeasible_stop", "demand_kg"),
        ({"window": [10, 5]}, "infeasible_stop", "window"),
        ({"demand_kg": 81}, "infeasible_stop", "kg"),
        ({"allowed_vehicles": ["v9"]}, "unknown_vehicle", "'v9'"),
    ],
)
def test_invalid_stop_is_refused_naming_it(
    client: TestClient, stop_fields: dict[str, Any], code: str, fragment: str
) -> None:
    error = _error(client, _body(**stop_fields))
    assert error["code"] == code
    assert "'bad-stop'" in error["message"] and fragment in error["message"]
    assert "'fine'" not in error["message"]


def test_matrix_of_the_wrong_size_is_refused(client: TestClient) -> None:
    body = _body()
    body["matrix"] = {"durations_s": [[0, 1], [1, 0]], "distances_m": [[0, 1], [1, 0]]}
    error = _error(client, body)
    assert error["code"] == "invalid_matrix" and "3 x 3" in error["message"]
    negative = [[0, 1, 1], [1, 0, -4], [1, 1, 0]]
    body["matrix"] = {"durations_s": negative, "distances_m": [[0, 1, 1], [1, 0, 1], [1, 1, 0]]}
    error = _error(client, body)
    assert error["code"] == "invalid_matrix" and "'bad-stop'" in error["message"] and "'fine'" in error["message"]


def test_time_limit_is_capped_by_the_settings(make_client: Callable[..., TestClient]) -> None:
    capped = make_client(routing=RoutingParams(time_limit_s=0.1, max_time_limit_s=0.2))
    body = _body()
    assert _post(capped, {**body, "time_limit_s": 600}).json()["time_limit_s"] == 0.2
    assert _post(capped, body).json()["time_limit_s"] == 0.1
    assert _post(capped, {**body, "time_limit_s": 0}).status_code == 422


def test_only_admins_and_dispatchers_may_plan(client: TestClient) -> None:
    body = _body()
    assert client.post("/v1/dispatch/plan", json=body).status_code == 401
    for role, subject in (("carrier", "north-van"), ("warehouse", "W1")):
        answer = _post(client, body, make_token(client, role, subject))
        assert answer.status_code == 403, answer.text
    assert _post(client, body, make_token(client, "dispatcher")).status_code == 200


def test_a_configured_road_network_plans_on_roads(make_client: Callable[..., TestClient]) -> None:
    roads = make_client(routing=RoutingParams(osm_pbf=pyrosm.get_data("test_pbf"), time_limit_s=FAST))
    depot = {"lat": 60.525, "lng": 26.945}
    stops = [
        {"id": "a", "location": {"lat": 60.530, "lng": 26.950}, "demand_kg": 1},
        {"id": "b", "location": {"lat": 60.535, "lng": 26.960}, "demand_kg": 1},
    ]
    body = {"depot": depot, "vehicles": [{"id": "v", "capacity_kg": 10}], "stops": stops}
    answer = _post(roads, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["matrix_source"] == "road_network"
    assert set(data["snap_m"]) == {"depot", "a", "b"} and all(0 <= d < 300 for d in data["snap_m"].values())
    (route,) = data["routes"]
    crow = haversine_m(60.525, 26.945, 60.530, 26.950) + haversine_m(60.530, 26.950, 60.535, 26.960)
    crow += haversine_m(60.535, 26.960, 60.525, 26.945)
    assert route["distance_m"] >= crow  # roads are never shorter than the great circle
    far = {"id": "far", "location": {"lat": 60.7, "lng": 26.95}, "demand_kg": 1}
    error = _error(roads, {**body, "stops": [*stops, far]})
    assert error["code"] == "off_road_network" and "'far'" in error["message"] and "'a'" not in error["message"]
