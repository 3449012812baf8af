"""Answers of the reconciliation endpoints: runs with their summary, and their differences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class FieldConsistencyOut(BaseModel):
    compared: int = Field(description="Paired keys whose value of this field was compared.")
    agree: int = Field(description="Of those, how many agree within the field's tolerance.")
    within_tolerance: int = Field(description="Of those that agree, how many differ but inside the tolerance.")
    consistency_pct: float = Field(description="agree / compared x 100 (100 with nothing compared).")


class SummaryOut(BaseModel):
    key: list[str] = Field(description="The key fields records are paired on.")
    ours_records: int
    theirs_records: int
    union_keys: int = Field(description="Distinct keys of both sides (plus records whose key is unreadable).")
    paired_keys: int = Field(description="Keys present exactly once on each side.")
    consistent_keys: int = Field(description="Paired keys with no difference in any compared field.")
    consistency_pct: float = Field(description="consistent_keys / union_keys x 100 (docs/RECONCILIATION.md).")
    differences: int
    by_cause: dict[str, int] = Field(
        description="missing_on_ours, missing_on_theirs, duplicate_key, value_differs, unparsable (zeros included)."
    )
    by_field: dict[str, dict[str, int]] = Field(description="field -> cause -> count; '(record)' for record causes.")
    fields: dict[str, FieldConsistencyOut] = Field(description="Per compared field consistency.")


class RunOut(BaseModel):
    id: str
    profile: str
    export_name: str
    export_sha256: str
    period_from: datetime | None = Field(alias="from", description="Start of the compared period (UTC, included).")
    period_to: datetime | None = Field(alias="to", description="End of the compared period (UTC, excluded).")
    consistency_pct: float
    differences: int
    summary: SummaryOut
    created_by: str
    created_at: datetime

    model_config = {"populate_by_name": True}


class RunListOut(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = None


class DifferenceOut(BaseModel):
    key: str = Field(description="The record key (parts joined with '|').")
    cause: str
    field: str = Field(description="The field; empty for a record-level cause.")
    side: str = Field(description="ours, theirs or both.")
    ours: str
    theirs: str
    delta: str = Field(description="theirs - ours: a number, '120s' or '30d'; empty when not numeric.")
    relative: str
    tolerance: str
    note: str


class DifferenceListOut(BaseModel):
    items: list[DifferenceOut]
    next_cursor: str | None = None


def run_out(record: Any) -> RunOut:
    """A stored run as the API answers it."""
    return RunOut.model_validate(
        {
            "id": record.id,
            "profile": record.profile,
            "export_name": record.export_name,
            "export_sha256": record.export_sha256,
            "from": record.period_from,
            "to": record.period_to,
            "consistency_pct": record.consistency_pct,
            "differences": record.differences,
            "summary": record.summary,
            "created_by": record.created_by,
            "created_at": record.created_at,
        }
    )
