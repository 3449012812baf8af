"""Answers of the analytics endpoints: stage timings with the daily trend, and the funnel."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class TransitionOut(BaseModel):
    from_node: str = Field(description="The node the time is measured from (first time reached).")
    to_node: str = Field(description="The node the time is measured to (first time reached).")
    count: int = Field(description="Orders of the period that reached both nodes.")
    p50_s: float | None = Field(description="Median seconds between the two nodes; null when count is 0.")
    p90_s: float | None = Field(
        description="90th percentile in seconds (linear interpolation between ranks); null when count is 0."
    )


class DayOut(BaseModel):
    day: date = Field(description="A UTC day on which orders of the period were placed.")
    placed: int = Field(description="Orders placed that day.")
    delivered: int = Field(description="Of those, how many are delivered.")
    end_to_end_p50_s: float | None = Field(
        description="Median seconds from placed to delivered over those delivered; null when none is."
    )


class StageTimingsOut(BaseModel):
    from_: datetime = Field(alias="from", description="Start of the period (UTC, included).")
    to: datetime = Field(description="End of the period (UTC, excluded).")
    orders: int = Field(description="Orders placed in the period: the population of every figure.")
    transitions: list[TransitionOut] = Field(
        description="placed→allocated, allocated→loaded, loaded→delivered, placed→delivered, then each"
        " consecutive pair of the main line."
    )
    trend: list[DayOut] = Field(description="Per UTC day with placements, oldest first.")


class FunnelNodeOut(BaseModel):
    node: str = Field(description="A main-line node, from placed to delivered.")
    reached: int = Field(description="Orders of the period that reached this node or a later one.")


class FunnelOut(BaseModel):
    from_: datetime = Field(alias="from", description="Start of the period (UTC, included).")
    to: datetime = Field(description="End of the period (UTC, excluded).")
    nodes: list[FunnelNodeOut] = Field(description="The main line in order; counts never grow downstream.")


class ParetoBarOut(BaseModel):
    key: str | None = Field(
        description="The cause, warehouse, customer, SKU or carrier; null: exceptions of orders with none (no"
        " shipment yet, no carrier yet)."
    )
    label: str = Field(description="What to show: the root cause's name, the id, or '(none)'.")
    exceptions: int = Field(description="Exceptions opened in the period under this key.")
    orders: int = Field(description="Distinct orders of those exceptions.")
    share: float = Field(description="exceptions / all exceptions counted along this dimension (0..1).")
    cumulative_share: float = Field(description="Share of this bar and every bar before it (0..1).")
    orders_url: str = Field(description="The drill-down: the orders behind this bar (a paginated list).")


class RootCausesOut(BaseModel):
    from_: datetime = Field(alias="from", description="Start of the period (UTC, included).")
    to: datetime = Field(description="End of the period (UTC, excluded).")
    by: str = Field(description="cause, warehouse, customer, sku or carrier.")
    cause: str | None = Field(description="The root cause filter, if any.")
    exceptions: int = Field(
        description="Exceptions opened in the period (after the cause filter and the token's scope): the population."
    )
    bars: list[ParetoBarOut] = Field(description="Most exceptions first; ties by key, the null key last.")


class RootCauseOut(BaseModel):
    code: str = Field(description="The root cause's code (docs/ROOT_CAUSES.md).")
    label: str = Field(description="Its name.")
    delay_codes: list[str] = Field(description="The delay reason codes that belong to it.")
    exception_kinds: list[str] = Field(description="The exception kinds whose default root cause it is.")
