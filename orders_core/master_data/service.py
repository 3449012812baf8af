"""Use cases for master data: validated upserts (bad input raises before anything is written)."""

from __future__ import annotations

import importlib
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

from foundation.errors import InvalidInput
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.repository import MasterDataRepository
from orders_core.unit_of_work import UnitOfWork


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


def put_customer(uow: UnitOfWork, customer: Customer) -> bool:
    """Validate and upsert a customer; answers whether it was created.

    A temporary credit limit granted earlier survives an upsert that does not mention one.
    """
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
            customer = replace(customer, temporary_credit_limit=existing.temporary_credit_limit)
    return repository.upsert_customer(customer)
