"""Stage timings, funnel and daily trend over the order timeline (issue 10, item 3), on both backends.

Orders and their timelines are written with known times (the pipeline stamps the wall clock), then every
figure is checked against values worked out by hand in this file: counts exactly, percentiles within the
stage-timing pre-aggregate's error (each rank within 2 %, so an interpolated value within 2 % of the larger of
its two ranks: under 3 % of the value for every rank pair here).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from infra.db import make_engine, make_session_factory
from orders_core.orders.tables import TimelineRow
from tests.order_rows import order_row

from .factories import ADMIN, make_token, put_master_data

#: Percentiles come from the stage-timing pre-aggregate: see the module docstring.
SKETCH_REL = 0.03

DAY1 = datetime(2026, 3, 1, tzinfo=UTC)
NODES = ["credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered"]
#: Order id -> (placed at, [(node, seconds after placement)]). A skips nothing; B re-reaches allocated after a
#: hold (the first time counts); D's timeline skips credit_review and stops at allocated; E is only placed;
#: F is placed exactly at the period's end and G before its start (neither counts).
ORDERS: dict[str, tuple[datetime, list[tuple[str, int]]]] = {
    "A": (DAY1 + timedelta(hours=8), list(zip(NODES, [60, 120, 600, 1200, 3600, 4000, 7200], strict=True))),
    "B": (
        DAY1 + timedelta(hours=10),
        [
            ("credit_review", 60),
            ("stock_locked", 180),
            ("allocated", 900),
            ("on_hold", 950),
            ("allocated", 2000),
            ("picking", 2100),
            ("loaded", 5400),
            ("in_transit", 6000),
            ("delivered", 10800),
        ],
    ),
    "C": (DAY1 + timedelta(days=1, hours=9), list(zip(NODES, [30, 90, 300, 600, 2400, 3000, 3600], strict=True))),
    "D": (DAY1 + timedelta(days=1, hours=12), [("stock_locked", 100), ("allocated", 1000)]),
    "E": (DAY1 + timedelta(days=1, hours=18), []),
    "F": (DAY1 + timedelta(days=2), list(zip(NODES, [1, 2, 3, 4, 5, 6, 7], strict=True))),
    "G": (DAY1 - timedelta(hours=1), list(zip(NODES, [1, 2, 3, 4, 5, 6, 7], strict=True))),
}
#: The period in China's zone: 2026-03-01T00:00Z to 2026-03-03T00:00Z.
PERIOD = {"from": "2026-03-01T08:00:00+08:00", "to": "2026-03-03T08:00:00+08:00"}


def _write_orders(database_url: str) -> None:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        for order_id, (placed_at, steps) in ORDERS.items():
            session.add(order_row(order_id, "C1", placed_at, status=steps[-1][0] if steps else "placed"))
            session.flush()
            for status, after_s in [("placed", 0), *steps]:
                at = placed_at + timedelta(seconds=after_s)
                session.add(TimelineRow(order_id=order_id, status=status, at=at, actor="test", reason_code=None))
        session.commit()
    engine.dispose()


@pytest.fixture
def client(database_url: str, make_client: object) -> Iterator[TestClient]:
    """The app on a database holding the orders above."""
    assert callable(make_client)
    app = make_client()
    put_master_data(app, customers={"C1": {"name": "Store", "credit_limit": 100000}})
    _write_orders(database_url)
    yield app


def test_stage_timings_and_trend_match_the_hand_computed_figures(client: TestClient) -> None:
    answer = client.get("/v1/analytics/stage-timings", params=PERIOD, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["from"].startswith("2026-03-01T00:00:00") and body["to"].startswith("2026-03-03T00:00:00")
    assert body["orders"] == 5
    timings = {
        (t["from_node"], t["to_node"]): (
            t["count"],
            pytest.approx(t["p50_s"], rel=SKETCH_REL),
            pytest.approx(t["p90_s"], rel=SKETCH_REL),
        )
        for t in body["transitions"]
    }
    # placed->allocated over A 600, B 900 (first time), C 300, D 1000: p50 at rank 1.5, p90 at rank 2.7.
    assert timings[("placed", "allocated")] == (4, 750.0, 970.0)
    assert timings[("allocated", "loaded")] == (3, 3000.0, 4200.0)  # A 3000, B 4500, C 2100
    assert timings[("loaded", "delivered")] == (3, 3600.0, 5040.0)  # A 3600, B 5400, C 1200
    assert timings[("placed", "delivered")] == (3, 7200.0, 10080.0)  # A 7200, B 10800, C 3600
    assert timings[("placed", "credit_review")] == (3, 60.0, 60.0)  # A 60, B 60, C 30 (D skipped it)
    assert timings[("credit_review", "stock_locked")] == (3, 60.0, 108.0)  # A 60, B 120, C 60
    assert timings[("stock_locked", "allocated")] == (4, 600.0, 846.0)  # A 480, B 720, C 210, D 900
    assert [t["from_node"] for t in body["transitions"]][:4] == ["placed", "allocated", "loaded", "placed"]
    assert len(body["transitions"]) == 4 + 7
    assert body["trend"] == [
        {"day": "2026-03-01", "placed": 2, "delivered": 2, "end_to_end_p50_s": pytest.approx(9000.0, rel=SKETCH_REL)},
        {"day": "2026-03-02", "placed": 3, "delivered": 1, "end_to_end_p50_s": pytest.approx(3600.0, rel=SKETCH_REL)},
    ]


def test_the_funnel_counts_orders_that_reached_each_node_or_a_later_one(client: TestClient) -> None:
    answer = client.get("/v1/analytics/funnel", params=PERIOD, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    reached = {n["node"]: n["reached"] for n in answer.json()["nodes"]}
    assert list(reached) == ["placed", *NODES]
    assert reached == {
        "placed": 5,
        "credit_review": 4,  # D skipped it on its timeline but went past it
        "stock_locked": 4,
        "allocated": 4,
        "picking": 3,
        "loaded": 3,
        "in_transit": 3,
        "delivered": 3,
    }


def test_an_empty_period_answers_zeros_not_an_error(client: TestClient) -> None:
    period = {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}
    timings = client.get("/v1/analytics/stage-timings", params=period, headers=ADMIN).json()
    assert timings["orders"] == 0 and timings["trend"] == []
    assert all(t == {**t, "count": 0, "p50_s": None, "p90_s": None} for t in timings["transitions"])
    funnel = client.get("/v1/analytics/funnel", params=period, headers=ADMIN).json()
    assert {n["reached"] for n in funnel["nodes"]} == {0}


@pytest.mark.parametrize("path", ["stage-timings", "funnel"])
@pytest.mark.parametrize(
    ("period", "code"),
    [
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
        ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-02T00:00:01Z"}, "invalid_period"),  # 366 days + 1 s
        ({"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z"}, "validation_error"),  # no zone
        ({"from": "yesterday", "to": "2026-03-02T00:00:00Z"}, "validation_error"),
        ({"to": "2026-03-02T00:00:00Z"}, "validation_error"),
    ],
)
def test_bad_periods_are_422(client: TestClient, path: str, period: dict[str, str], code: str) -> None:
    answer = client.get(f"/v1/analytics/{path}", params=period, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def test_a_span_of_exactly_366_days_is_accepted(client: TestClient) -> None:
    period = {"from": "2025-03-03T00:00:00Z", "to": "2026-03-04T00:00:00Z"}
    answer = client.get("/v1/analytics/funnel", params=period, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["nodes"][0]["reached"] == 7


@pytest.mark.parametrize("path", ["stage-timings", "funnel"])
def test_roles(client: TestClient, path: str) -> None:
    dispatcher = make_token(client, "dispatcher")
    assert client.get(f"/v1/analytics/{path}", params=PERIOD, headers=dispatcher).status_code == 200
    customer = make_token(client, "customer", "C1")
    answer = client.get(f"/v1/analytics/{path}", params=PERIOD, headers=customer)
    assert answer.status_code == 403, answer.text
    assert client.get(f"/v1/analytics/{path}", params=PERIOD).status_code == 401
