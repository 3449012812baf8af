"""Answers of the forecast endpoints: the latest stored run, its forecasts and a warehouse's replenishment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ForecastRunOut(BaseModel):
    id: str
    created_at: datetime
    history_from: str = Field(description="First week (Monday) of the order history the run read.")
    history_to: str = Field(description="Last week (Monday) of that history; forecasts start the week after.")
    series: int = Field(description="SKU × region series forecast.")
    horizon_weeks: int = Field(description="Weeks forecast: lead time + review period.")
    lead_time_weeks: int
    h3_resolution: int = Field(description="A region is the H3 cell of this resolution holding the delivery point.")
    interval_level: float = Field(description="Central coverage of [lo, hi] (split-conformal, clipped at zero).")
    service_level: float = Field(description="Safety stock's service level (cycle service).")
    chosen: dict[str, str] = Field(description="Model chosen per demand class by the rolling-origin backtest.")
    scores: list[dict[str, Any]] = Field(description="Backtest WAPE, bias and MASE of the choice and seasonal naive.")


class ForecastOut(BaseModel):
    sku: str
    region: str = Field(description="H3 cell (hex) of the delivery points.")
    week: str = Field(description="Monday of the forecast week (ISO date).")
    step: int = Field(description="Weeks ahead of the history's last week.")
    demand_class: str = Field(description="smooth, erratic, intermittent or lumpy (ADI/CV², Syntetos-Boylan).")
    model: str
    forecast: float = Field(description="Units, reconciled so SKU and region totals agree.")
    lo: float = Field(description="Lower bound of the prediction interval (>= 0).")
    hi: float = Field(description="Upper bound of the prediction interval.")
    base: float = Field(description="The model's forecast before reconciliation.")


class ForecastPageOut(BaseModel):
    run: ForecastRunOut | None = Field(description="The run answered from; null before the first run.")
    items: list[ForecastOut]
    next_cursor: str | None = None


class TransferOut(BaseModel):
    from_warehouse: str
    qty: int


class SuggestionOut(BaseModel):
    sku: str
    demand_class: str = Field(description="Class of the warehouse's weekly demand; none when nothing is forecast.")
    on_hand: int
    cover_demand: float = Field(description="Forecast units over lead time + review period in the served regions.")
    safety_stock: float = Field(description="From the backtest's lead-time errors (empirical quantile: intermittent).")
    order_up_to: int
    transfer_in: int = Field(description="Units suggested to come from warehouses holding more than they need.")
    transfer_out: int = Field(description="Units suggested to go to warehouses short of their level.")
    order_qty: int = Field(description="Units to order from the supplier after the transfers.")
    transfers: list[TransferOut]


class ReplenishmentOut(BaseModel):
    warehouse_id: str
    run: ForecastRunOut | None
    items: list[SuggestionOut]
