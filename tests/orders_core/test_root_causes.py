"""The root-cause taxonomy is complete and the refinements and the address check say what the docs say
(pure: no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orders_core.carriers.coverage import FleetCoverage
from orders_core.master_data.model import Customer
from orders_core.orders.address_check import AddressPolicy, address_findings
from orders_core.orders.delays import CAUSE_CODES, REASONS, DelayCode, delay_code_of_exception
from orders_core.orders.model import DeliveryPoint
from orders_core.orders.root_causes import (
    LABELS,
    ROOT_CAUSE_OF_DELAY,
    RootCause,
    root_cause_after_resolution,
    root_cause_at_opening,
    root_cause_of_delay,
    root_cause_of_kind,
)

ROOT = Path(__file__).resolve().parents[2]
#: The root causes the issue names; each must exist in the taxonomy.
NAMED_IN_ISSUE = {
    "supplier_lead_time",
    "address",
    "price_rule",
    "credit",
    "stock_shortage",
    "carrier_capacity",
    "carrier_late",
    "failed_delivery",
    "data_sync",
}


def _kinds_opened_in_code() -> set[str]:
    """Every exception kind the service opens: the literal ones found in ``open_exception(uow, order_id, "kind"``
    calls, and those passed through a name (credit_problem's kinds, the transport and address constants)."""
    kinds: set[str] = set()
    for path in (ROOT / "orders_core").rglob("*.py"):
        kinds |= set(re.findall(r'open_exception\(\s*[\w.]+,\s*[\w.]+,\s*"([a-z_]+)"', path.read_text()))
    return kinds | {
        "credit_limit_exceeded",
        "credit_overdue",
        "no_carrier_in_range",
        "address_far_from_customer",
        "address_outside_coverage",
    }


def test_every_delay_code_belongs_to_exactly_one_root_cause() -> None:
    assert set(ROOT_CAUSE_OF_DELAY) == set(DelayCode)
    assert set(REASONS) == set(DelayCode)
    assert all(isinstance(cause, RootCause) for cause in ROOT_CAUSE_OF_DELAY.values())


def test_every_exception_kind_maps_to_a_root_cause_through_a_delay_code() -> None:
    opened = _kinds_opened_in_code()
    assert {"price_conflict", "stock_shortage", "short_pick", "shipment_returned"} <= opened
    assert opened <= set(CAUSE_CODES), f"kinds without a delay code: {opened - set(CAUSE_CODES)}"
    for kind in CAUSE_CODES:
        assert root_cause_of_kind(kind) is ROOT_CAUSE_OF_DELAY[CAUSE_CODES[kind]]


def test_every_root_cause_is_named_and_the_issues_causes_exist() -> None:
    assert set(LABELS) == set(RootCause)
    assert all(label.en and label.zh for label in LABELS.values())
    assert {cause.value for cause in RootCause} >= NAMED_IN_ISSUE


def test_the_documented_taxonomy_lists_every_root_cause_and_delay_code() -> None:
    doc = (ROOT / "docs" / "ROOT_CAUSES.md").read_text()
    for cause in RootCause:
        assert f"`{cause.value}`" in doc, cause
    for code in DelayCode:
        assert f"`{code.value}`" in doc, code


def test_every_delays_root_cause_is_derived_from_its_code() -> None:
    assert root_cause_of_delay("carrier_late") is RootCause.CARRIER_LATE
    assert root_cause_of_delay(DelayCode.RETURNED_TO_WAREHOUSE) is RootCause.FAILED_DELIVERY
    assert root_cause_of_kind("something_new") is RootCause.MANUAL_HOLD


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        ("stock_shortage", {"missing": {"S1": 3}}, RootCause.SUPPLIER_LEAD_TIME),
        ("stock_shortage", {"missing": {}, "lost_reservation_races": [{}]}, RootCause.STOCK_SHORTAGE),
        ("no_carrier_in_range", {"fits_no_active_carrier": True}, RootCause.CARRIER_CAPACITY),
        ("no_carrier_in_range", {"fits_no_active_carrier": False}, RootCause.NO_CARRIER_IN_RANGE),
        ("price_conflict", {"missing": {"S1": 3}}, RootCause.PRICE_RULE),
    ],
)
def test_opening_refines_shortages_and_carrier_capacity(
    kind: str, details: dict[str, object], expected: RootCause
) -> None:
    assert root_cause_at_opening(kind, details) is expected


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("wait_for_stock", "supplier_lead_time"),
        ("transfer", "supplier_lead_time"),
        ("ship_available", "stock_shortage"),
        ("reject", "stock_shortage"),
    ],
)
def test_resolving_a_shortage_says_whether_the_order_waited_for_supply(strategy: str, expected: str) -> None:
    assert root_cause_after_resolution("stock_shortage", "supplier_lead_time", strategy) == expected
    assert root_cause_after_resolution("short_pick", "short_pick", strategy) == "short_pick"


CUSTOMER = Customer(id="C1", name="C1", credit_limit=0, lat=31.0, lng=121.0)  # type: ignore[arg-type]


def test_address_findings_far_from_customer_and_outside_coverage() -> None:
    policy = AddressPolicy(far_from_customer_m=10_000)
    near, far = DeliveryPoint(lat=31.05, lng=121.0), DeliveryPoint(lat=31.2, lng=121.0)  # ~5.6 km, ~22 km
    assert address_findings(near, CUSTOMER, None, policy) == []
    assert [f.kind for f in address_findings(far, CUSTOMER, None, policy)] == ["address_far_from_customer"]
    assert address_findings(far, CUSTOMER, None, AddressPolicy(far_from_customer_m=0)) == []
    nobody = FleetCoverage(active_carriers=0, unlimited=False, fences=())
    assert address_findings(near, CUSTOMER, nobody, policy) == []
    fenced = FleetCoverage(active_carriers=2, unlimited=False, fences=())
    assert [f.kind for f in address_findings(near, CUSTOMER, fenced, policy)] == ["address_outside_coverage"]
    anywhere = FleetCoverage(active_carriers=2, unlimited=True, fences=())
    assert address_findings(near, CUSTOMER, anywhere, policy) == []


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="far_from_customer_m"):
        AddressPolicy(far_from_customer_m=-1)


@pytest.mark.parametrize("kind", sorted(CAUSE_CODES))
def test_an_exceptions_stored_root_cause_is_the_root_cause_of_the_delay_it_explains(kind: str) -> None:
    details_seen: list[dict[str, object]] = [{}, {"missing": {"S1": 1}}, {"fits_no_active_carrier": True}]
    stored = {root_cause_at_opening(kind, details).value for details in details_seen}
    for strategy in ("wait_for_stock", "transfer", "ship_available", "reject", None):
        stored |= {root_cause_after_resolution(kind, cause, strategy) for cause in set(stored)}
    for cause in stored:
        assert root_cause_of_delay(delay_code_of_exception(kind, cause)).value == cause, (kind, cause)
