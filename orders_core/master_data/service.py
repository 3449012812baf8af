"""Use cases for master data: validated upserts (bad input raises before anything is written) and reads.

``upsert_*`` and the queries own their unit of work (the API calls them with the container's factory);
``put_*`` validate and write inside a caller's unit of work, for code that composes several in one
transaction (seeding, tests).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from foundation.clock import utc_now
from foundation.errors import InvalidInput, NotFound
from orders_core.master_data.model import DEFAULT_TEMPORARY_CREDIT_TTL_S, Customer, Sku, Warehouse
from orders_core.master_data.repository import MasterDataRepository
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


class InvalidMasterData(InvalidInput):
    """A master-data field violates a rule (range, sign, layout shape)."""

    code = "invalid_master_data"


def check_coordinates(lat: float, lng: float, field: str = "location") -> None:
    """WGS-84 range check; the message names the offending field."""
    if not (isinstance(lat, int | float) and math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidMasterData(f"{field}.lat must be within [-90, 90], got {lat!r}")
    if not (isinstance(lng, int | float) and math.isfinite(lng) and -180.0 <= lng <= 180.0):
        raise InvalidMasterData(f"{field}.lng must be within [-180, 180], got {lng!r}")


def _non_negative(value: Decimal | float, field: str) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0:
            raise InvalidMasterData(f"{field} must be a finite number >= 0, got {value}")
    elif not math.isfinite(value) or value < 0:
        raise InvalidMasterData(f"{field} must be a finite number >= 0, got {value}")


def validate_layout(layout: dict[str, Any]) -> None:
    """A layout is an object with a "kind"; picking's parser (when installed) checks the rest."""
    if not isinstance(layout, dict) or not isinstance(layout.get("kind"), str):
        raise InvalidMasterData('layout must be an object with a string "kind" (e.g. "rectangular")')
    try:
        layouts = importlib.import_module("warehouse_picking.layouts")
    except ImportError:
        return
    parse_layout = getattr(layouts, "parse_layout", None)
    if callable(parse_layout):
        try:
            parse_layout(layout)
        except InvalidInput as exc:
            raise InvalidMasterData(f"layout: {exc.message}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidMasterData(f"layout: {exc}") from exc


def put_warehouse(uow: UnitOfWork, warehouse: Warehouse) -> bool:
    """Validate and upsert a warehouse; answers whether it was created."""
    if not warehouse.name.strip():
        raise InvalidMasterData("name must not be empty")
    check_coordinates(warehouse.lat, warehouse.lng)
    if warehouse.layout is not None:
        validate_layout(warehouse.layout)
    return MasterDataRepository(uow.session).upsert_warehouse(warehouse)


def put_sku(uow: UnitOfWork, sku: Sku) -> bool:
    """Validate and upsert a catalogue item; answers whether it was created."""
    if not sku.name.strip():
        raise InvalidMasterData("name must not be empty")
    _non_negative(sku.unit_price, "unit_price")
    _non_negative(sku.weight_kg, "weight_kg")
    _non_negative(sku.volume_m3, "volume_m3")
    return MasterDataRepository(uow.session).upsert_sku(sku)


def put_customer(
    uow: UnitOfWork, customer: Customer, *, temporary_credit_ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S
) -> bool:
    """Validate and upsert a customer; answers whether it was created.

    A temporary credit limit granted earlier (still active) survives an upsert that does not mention one.
    A temporary limit always expires: at its ``temporary_credit_limit_expires_at`` (which must be in the
    future), else ``temporary_credit_ttl_s`` from now.
    """
    customer = _with_credit_expiry(customer, temporary_credit_ttl_s)
    if not customer.name.strip():
        raise InvalidMasterData("name must not be empty")
    _non_negative(customer.credit_limit, "credit_limit")
    _non_negative(customer.overdue_amount, "overdue_amount")
    if customer.temporary_credit_limit is not None:
        _non_negative(customer.temporary_credit_limit, "temporary_credit_limit")
    if (customer.lat is None) != (customer.lng is None):
        raise InvalidMasterData("location needs both lat and lng")
    if customer.lat is not None and customer.lng is not None:
        check_coordinates(customer.lat, customer.lng)
    repository = MasterDataRepository(uow.session)
    if customer.temporary_credit_limit is None:
        existing = repository.get_customer(customer.id)
        if existing is not None and existing.temporary_credit_limit is not None:
            customer = replace(
                customer,
                temporary_credit_limit=existing.temporary_credit_limit,
                temporary_credit_limit_expires_at=existing.temporary_credit_limit_expires_at,
            )
    return repository.upsert_customer(customer)


def _with_credit_expiry(customer: Customer, ttl_s: float) -> Customer:
    """The customer with its temporary limit's expiry checked (422) or defaulted."""
    expires_at = customer.temporary_credit_limit_expires_at
    if customer.temporary_credit_limit is None:
        if expires_at is not None:
            raise InvalidMasterData("temporary_credit_limit_expires_at needs a temporary_credit_limit")
        return customer
    now = utc_now()
    if expires_at is None:
        return replace(customer, temporary_credit_limit_expires_at=now + timedelta(seconds=ttl_s))
    if expires_at.tzinfo is None:
        raise InvalidMasterData("temporary_credit_limit_expires_at needs a time zone (e.g. a trailing Z)")
    if expires_at <= now:
        raise InvalidMasterData(
            f"temporary_credit_limit_expires_at must be in the future, got {expires_at.isoformat()}"
        )
    return customer


def upsert_warehouse(new_uow: UnitOfWorkFactory, warehouse: Warehouse) -> bool:
    """Create or replace a warehouse in its own transaction; answers whether it was created."""
    with new_uow() as uow:
        created = put_warehouse(uow, warehouse)
        uow.commit()
    return created


def upsert_sku(new_uow: UnitOfWorkFactory, sku: Sku) -> bool:
    """Create or replace a catalogue item in its own transaction; answers whether it was created."""
    with new_uow() as uow:
        created = put_sku(uow, sku)
        uow.commit()
    return created


def upsert_customer(
    new_uow: UnitOfWorkFactory, customer: Customer, *, temporary_credit_ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S
) -> tuple[Customer, bool]:
    """Create or replace a customer in its own transaction; answers (the customer as stored, created).

    The stored customer can differ from the one given: a temporary credit limit granted earlier is kept,
    and a temporary limit without an expiry gets one (``temporary_credit_ttl_s`` from now).
    """
    with new_uow() as uow:
        created = put_customer(uow, customer, temporary_credit_ttl_s=temporary_credit_ttl_s)
        stored = MasterDataRepository(uow.session).get_customer(customer.id)
        uow.commit()
    assert stored is not None  # written just above, in this transaction
    return stored, created


def get_warehouse(new_uow: UnitOfWorkFactory, warehouse_id: str) -> Warehouse:
    """One warehouse (404 if unknown)."""
    with new_uow() as uow:
        warehouse = MasterDataRepository(uow.session).get_warehouse(warehouse_id)
    if warehouse is None:
        raise NotFound(f"no warehouse {warehouse_id!r}")
    return warehouse


def list_warehouses(new_uow: UnitOfWorkFactory) -> list[Warehouse]:
    """Every warehouse."""
    with new_uow() as uow:
        return MasterDataRepository(uow.session).list_warehouses()


def get_sku(new_uow: UnitOfWorkFactory, sku: str) -> Sku:
    """One catalogue item (404 if unknown)."""
    with new_uow() as uow:
        item = MasterDataRepository(uow.session).get_sku(sku)
    if item is None:
        raise NotFound(f"no sku {sku!r}")
    return item


def get_customer(new_uow: UnitOfWorkFactory, customer_id: str) -> Customer:
    """One customer (404 if unknown)."""
    with new_uow() as uow:
        customer = MasterDataRepository(uow.session).get_customer(customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id!r}")
    return customer
