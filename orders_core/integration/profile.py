"""The mapping profile: how one source system's records become this service's orders, customers, SKUs or stock.

A profile is declarative (a YAML file, see docs/MAPPING_PROFILES.md) and is validated on load into these
frozen dataclasses by ``profile_loader``; nothing here reads files. The catalogue of target fields below is
the one place that says which fields each entity has, at which level (the record or each of its lines) and of
which type, so a profile only says where a field comes from and what to do when its value is bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from foundation.errors import DispatchError

SourceFormat = Literal["csv", "xlsx", "json", "jsonl"]
TargetEntity = Literal["order", "customer", "sku", "stock", "shipment", "waybill"]
FieldType = Literal["string", "integer", "decimal", "float", "date", "datetime", "boolean"]
FieldLevel = Literal["record", "line"]
OrderMode = Literal["history", "pipeline"]

SOURCE_FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", "jsonl")
TARGET_ENTITIES: tuple[str, ...] = ("order", "customer", "sku", "stock", "shipment", "waybill")
#: Entities a profile can only export to (dispatch export): the service makes them, nobody imports them.
EXPORT_ONLY_ENTITIES: tuple[str, ...] = ("shipment", "waybill")
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "gb18030")
ORDER_MODES: tuple[str, ...] = ("history", "pipeline")
CRS_NAMES: tuple[str, ...] = ("wgs84", "gcj02")
LOOKUP_KINDS: tuple[str, ...] = ("customer", "sku", "warehouse")


class Strategy(StrEnum):
    """The named exception strategies (docs/MAPPING_PROFILES.md describes each)."""

    REJECT = "reject"
    DEFAULT = "default"
    ALIAS_LOOKUP = "alias_lookup"
    UNIT_CONVERSION = "unit_conversion"
    HOLD_FOR_REVIEW = "hold_for_review"
    DEDUPE_SOURCE_KEY = "dedupe_source_key"
    MERGE_SAME_SKU = "merge_same_sku"
    SPLIT_BY_WAREHOUSE = "split_by_warehouse"
    CLAMP = "clamp"
    GEOCODE_CHECK = "geocode_check"
    DEFER_MISSING_MASTER = "defer_missing_master"


#: What a field may do when its value is missing (``on_missing``) or does not parse (``on_invalid``).
FIELD_ACTIONS: tuple[Strategy, ...] = (Strategy.REJECT, Strategy.DEFAULT, Strategy.HOLD_FOR_REVIEW)
#: What a looked-up code that names nothing may do (``on_unknown``).
UNKNOWN_CODE_ACTIONS: tuple[Strategy, ...] = (
    Strategy.REJECT,
    Strategy.HOLD_FOR_REVIEW,
    Strategy.DEFER_MISSING_MASTER,
)
#: Strategies that are record-wide rules (the ``rules:`` list) rather than a field's reaction.
RULE_STRATEGIES: tuple[Strategy, ...] = (
    Strategy.DEDUPE_SOURCE_KEY,
    Strategy.MERGE_SAME_SKU,
    Strategy.SPLIT_BY_WAREHOUSE,
    Strategy.CLAMP,
    Strategy.GEOCODE_CHECK,
    Strategy.UNIT_CONVERSION,
)
#: What a rule that finds a problem may do with the record.
RULE_ACTIONS: tuple[Strategy, ...] = (Strategy.REJECT, Strategy.HOLD_FOR_REVIEW)


@dataclass(frozen=True)
class TargetField:
    """One field of a target entity: where it sits and what type its value takes."""

    level: FieldLevel
    type: FieldType
    lookup: str | None = None  # the master data a code in this field names


TARGET_FIELDS: dict[str, dict[str, TargetField]] = {
    "order": {
        "order_no": TargetField("record", "string"),
        "customer_id": TargetField("record", "string", lookup="customer"),
        "placed_at": TargetField("record", "datetime"),
        "status": TargetField("record", "string"),
        "delivery_lat": TargetField("record", "float"),
        "delivery_lng": TargetField("record", "float"),
        "delivery_address": TargetField("record", "string"),
        "contact_name": TargetField("record", "string"),
        "contact_phone": TargetField("record", "string"),
        "cash_on_delivery": TargetField("record", "boolean"),
        "promised_by": TargetField("record", "datetime"),
        "delivered_at": TargetField("record", "datetime"),
        "priority": TargetField("record", "string"),
        "warehouse_id": TargetField("record", "string", lookup="warehouse"),
        "sku": TargetField("line", "string", lookup="sku"),
        "qty": TargetField("line", "integer"),
        "unit": TargetField("line", "string"),
        "unit_price": TargetField("line", "decimal"),
    },
    "customer": {
        "customer_id": TargetField("record", "string"),
        "name": TargetField("record", "string"),
        "credit_limit": TargetField("record", "decimal"),
        "lat": TargetField("record", "float"),
        "lng": TargetField("record", "float"),
        "phone": TargetField("record", "string"),
        "prepaid": TargetField("record", "boolean"),
    },
    "sku": {
        "sku": TargetField("record", "string"),
        "name": TargetField("record", "string"),
        "unit_price": TargetField("record", "decimal"),
        "weight_kg": TargetField("record", "float"),
        "volume_m3": TargetField("record", "float"),
        "pack_size": TargetField("record", "integer"),
    },
    "stock": {
        "warehouse_id": TargetField("record", "string", lookup="warehouse"),
        "sku": TargetField("record", "string", lookup="sku"),
        "on_hand": TargetField("record", "integer"),
        "unit": TargetField("record", "string"),
        "counted_at": TargetField("record", "datetime"),
    },
    # Export-only (dispatch export, docs/RECONCILIATION.md): a shipment leaves one warehouse; a waybill is its
    # master e-waybill as issued to the carrier.
    "shipment": {
        "shipment_id": TargetField("record", "string"),
        "order_no": TargetField("record", "string"),
        "warehouse_id": TargetField("record", "string", lookup="warehouse"),
        "status": TargetField("record", "string"),
        "carrier_id": TargetField("record", "string"),
        "waybill_no": TargetField("record", "string"),
        "weight_kg": TargetField("record", "float"),
        "volume_m3": TargetField("record", "float"),
        "pieces": TargetField("record", "integer"),
        "created_at": TargetField("record", "datetime"),
        "delivery_lat": TargetField("record", "float"),
        "delivery_lng": TargetField("record", "float"),
        "sku": TargetField("line", "string", lookup="sku"),
        "qty": TargetField("line", "integer"),
    },
    "waybill": {
        "waybill_no": TargetField("record", "string"),
        "shipment_id": TargetField("record", "string"),
        "order_no": TargetField("record", "string"),
        "carrier_id": TargetField("record", "string"),
        "status": TargetField("record", "string"),
        "weight_kg": TargetField("record", "float"),
        "volume_m3": TargetField("record", "float"),
        "pieces": TargetField("record", "integer"),
        "sender_name": TargetField("record", "string"),
        "sender_lat": TargetField("record", "float"),
        "sender_lng": TargetField("record", "float"),
        "receiver_name": TargetField("record", "string"),
        "receiver_phone": TargetField("record", "string"),
        "receiver_address": TargetField("record", "string"),
        "receiver_lat": TargetField("record", "float"),
        "receiver_lng": TargetField("record", "float"),
        "cash_on_delivery": TargetField("record", "decimal"),
        "promised_by": TargetField("record", "datetime"),
        "created_at": TargetField("record", "datetime"),
        "sku": TargetField("line", "string", lookup="sku"),
        "qty": TargetField("line", "integer"),
    },
}

#: Fields every profile of an entity must map (or give a default for).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("order_no", "customer_id", "sku", "qty"),
    "customer": ("customer_id", "name"),
    "sku": ("sku", "name"),
    "stock": ("warehouse_id", "sku", "on_hand"),
    "shipment": ("shipment_id", "order_no"),
    "waybill": ("waybill_no", "shipment_id"),
}

#: The order statuses a history-mode profile may map source statuses to (CONTRACT.md).
ORDER_STATUSES: tuple[str, ...] = (
    "placed",
    "credit_review",
    "stock_locked",
    "allocated",
    "picking",
    "loaded",
    "in_transit",
    "delivered",
    "on_hold",
    "cancelled",
)


class ProfileInvalid(DispatchError):
    """A profile file that does not follow the schema; ``issues`` name the file and line of each problem."""

    code = "invalid_profile"
    http_status = 422

    def __init__(self, issues: list[ProfileIssue]) -> None:
        self.issues = issues
        super().__init__(
            "; ".join(str(issue) for issue in issues),
            details={"issues": [str(issue) for issue in issues]},
        )


@dataclass(frozen=True)
class ProfileIssue:
    """One validation problem at a line of a profile file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class SourceSpec:
    """How the source file is laid out."""

    format: SourceFormat
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None  # xlsx: the sheet's name (default: the first)
    header_row: int = 1  # csv/xlsx: the row holding the column headers (1-based)
    records_path: tuple[str, ...] = ()  # json: the keys leading to the list of records
    lines_path: tuple[str, ...] = ()  # json/jsonl: the keys, inside a record, leading to its list of lines


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: ``1,234.5`` (thousands ",", decimal ".") or ``1.234,5`` (".", ",")."""

    thousands: str = ""
    decimal: str = "."


@dataclass(frozen=True)
class FieldSpec:
    """Where one target field comes from and how a bad or missing value is handled."""

    name: str
    line: int  # of the profile file, for messages
    column: str | None  # source column (csv/xlsx header) or dotted key path (json); None: default only
    type: FieldType
    level: FieldLevel
    required: bool = False
    default: Any = None
    format: str | None = None  # date/datetime strptime format overriding the profile's
    values: dict[str, str] = field(default_factory=dict)  # value map (e.g. 已签收 -> delivered)
    lookup: str | None = None  # alias table + master data the code must name
    on_missing: Strategy = Strategy.REJECT
    on_invalid: Strategy = Strategy.REJECT
    on_unknown: Strategy = Strategy.REJECT


@dataclass(frozen=True)
class UnitConversion:
    """Quantities given in cases become pieces by the SKU's pack size (``unit_conversion``)."""

    quantity_field: str
    unit_field: str
    case_units: tuple[str, ...]
    piece_units: tuple[str, ...]
    on_unknown_unit: Strategy = Strategy.REJECT


@dataclass(frozen=True)
class Rule:
    """A record-wide strategy with its parameters (the profile's ``rules:`` list)."""

    strategy: Strategy
    line: int
    field: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_distance_m: float | None = None
    check_coverage: bool = True
    action: Strategy = Strategy.REJECT
    unit: UnitConversion | None = None


@dataclass(frozen=True)
class Profile:
    """A validated mapping profile."""

    name: str
    path: str
    source: SourceSpec
    target: TargetEntity
    mode: OrderMode
    key: tuple[str, ...]  # target fields whose values form the record's source key
    group_rows: bool  # consecutive rows sharing the key form one record (ERP exports: one row per line)
    fields: tuple[FieldSpec, ...]
    date_format: str
    datetime_format: str
    utc_offset_minutes: int  # the source's local time zone (dates without an offset are read in it)
    numbers: NumberFormat
    coordinates: str  # wgs84 | gcj02
    aliases: dict[str, dict[str, str]]  # lookup kind -> source code -> our code
    pack_sizes: dict[str, int]  # our SKU -> pieces per case (overrides the imported SKU master data)
    rules: tuple[Rule, ...]
    system: str = ""  # the source system's name, recorded with each import

    def field(self, name: str) -> FieldSpec | None:
        """The spec of a target field, if the profile maps it."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    def rule(self, strategy: Strategy) -> list[Rule]:
        """The rules of one strategy, in file order."""
        return [rule for rule in self.rules if rule.strategy is strategy]

    @property
    def record_fields(self) -> tuple[FieldSpec, ...]:
        """Fields read once per record."""
        return tuple(spec for spec in self.fields if spec.level == "record")

    @property
    def line_fields(self) -> tuple[FieldSpec, ...]:
        """Fields read once per line (order lines)."""
        return tuple(spec for spec in self.fields if spec.level == "line")
