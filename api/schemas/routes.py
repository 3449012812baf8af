"""Bodies of a warehouse's delivery routes, loading sheets (JSON and printable HTML) and route pick waves."""

from __future__ import annotations

from datetime import datetime
from html import escape

from pydantic import BaseModel, Field

from api.schemas.picking import CartIn
from orders_core.transport.routes import LoadingSheet, RoutePicks, WarehouseRoutes


class PlanRoutesIn(BaseModel):
    """``POST /v1/warehouses/{id}/routes``: plan the warehouse's assigned shipments."""

    time_limit_s: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="capped by the service")


class DropOffOut(BaseModel):
    lat: float
    lng: float
    address: str | None = None


class SheetLineOut(BaseModel):
    """A shipment at its position in the vehicle (1 = loaded first = delivered last)."""

    loading_position: int
    stop_sequence: int
    shipment_id: str
    order_id: str
    waybill_no: str | None
    weight_kg: float
    volume_m3: float
    pieces: int
    drop_off: DropOffOut
    arrival_s: float
    pick_task_id: str | None


class LoadingSheetOut(BaseModel):
    """A route as the warehouse loads it; ``shipments`` first loaded first."""

    route_id: str
    warehouse_id: str
    vehicle_id: str
    status: str
    start_at: datetime
    distance_m: float
    duration_s: float
    load_kg: float
    load_m3: float
    shipments: list[SheetLineOut]
    delivery_order: list[str]


class WarehouseRoutesOut(BaseModel):
    """The routes just planned (as loading sheets), shipments no route could take, routes replaced."""

    warehouse_id: str
    routes: list[LoadingSheetOut]
    unassigned: list[str]
    replaced_routes: list[str]


class LoadingSheetsOut(BaseModel):
    """A warehouse's current loading sheets (one page: ``next_cursor`` is always null)."""

    items: list[LoadingSheetOut]
    next_cursor: str | None = None


class RouteWaveIn(BaseModel):
    """Release a route's pick tasks in loading order with this cart (default: the warehouse's stored cart)."""

    cart: CartIn | None = None
    time_limit_s: float | None = Field(default=None, gt=0, le=10, description="routing time limit per task")


class RoutePickTaskOut(BaseModel):
    """A released pick task: which shipment it picks and that shipment's loading position."""

    release: int
    task_id: str
    loading_position: int
    shipment_id: str
    order_id: str
    distance_m: float
    steps: int


class RouteWaveOut(BaseModel):
    route_id: str
    tasks: list[RoutePickTaskOut]


def sheet_out(sheet: LoadingSheet) -> LoadingSheetOut:
    return LoadingSheetOut(
        route_id=sheet.route_id,
        warehouse_id=sheet.warehouse_id,
        vehicle_id=sheet.vehicle_id,
        status=sheet.status,
        start_at=sheet.start_at,
        distance_m=sheet.distance_m,
        duration_s=sheet.duration_s,
        load_kg=sheet.load_kg,
        load_m3=sheet.load_m3,
        shipments=[
            SheetLineOut(
                loading_position=line.loading_position,
                stop_sequence=line.stop_sequence,
                shipment_id=line.shipment_id,
                order_id=line.order_id,
                waybill_no=line.waybill_no,
                weight_kg=line.weight_kg,
                volume_m3=line.volume_m3,
                pieces=line.pieces,
                drop_off=DropOffOut(lat=line.drop_off.lat, lng=line.drop_off.lng, address=line.address),
                arrival_s=line.arrival_s,
                pick_task_id=line.pick_task_id,
            )
            for line in sheet.lines
        ],
        delivery_order=sheet.delivery_order,
    )


def routes_out(result: WarehouseRoutes) -> WarehouseRoutesOut:
    return WarehouseRoutesOut(
        warehouse_id=result.warehouse_id,
        routes=[sheet_out(sheet) for sheet in result.sheets],
        unassigned=list(result.unassigned),
        replaced_routes=list(result.replaced_routes),
    )


def wave_out(result: RoutePicks) -> RouteWaveOut:
    return RouteWaveOut(
        route_id=result.route_id,
        tasks=[
            RoutePickTaskOut(
                release=k,
                task_id=task.id,
                loading_position=line.loading_position,
                shipment_id=line.shipment_id,
                order_id=line.order_id,
                distance_m=task.distance_m,
                steps=len(task.steps),
            )
            for k, (line, task) in enumerate(result.tasks, start=1)
        ],
    )


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def sheet_html(sheet: LoadingSheet) -> str:
    """A printable loading sheet: one row per shipment, first loaded first (plain HTML, print CSS)."""
    rows = "\n".join(
        "<tr>"
        f"<td class=num>{line.loading_position}</td>"
        f"<td>{escape(line.waybill_no or '-')}</td>"
        f"<td>{escape(line.shipment_id)}</td>"
        f"<td>{escape(line.order_id)}</td>"
        f"<td class=num>{line.pieces}</td>"
        f"<td class=num>{line.weight_kg:.1f}</td>"
        f"<td class=num>{line.volume_m3:.3f}</td>"
        f"<td class=num>{line.stop_sequence}</td>"
        f"<td>{escape(line.address or '')} ({line.drop_off.lat:.5f}, {line.drop_off.lng:.5f})</td>"
        f"<td>+{_hms(line.arrival_s)}</td>"
        f"<td>{escape(line.pick_task_id or '')}</td>"
        "</tr>"
        for line in sheet.lines
    )
    title = f"Loading sheet {escape(sheet.route_id)}"
    replaced = (
        "<p class=warn>REPLACED by a later plan: do not load by this sheet.</p>" if sheet.status != "planned" else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5cm; }}
table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }}
th, td {{ border: 1px solid #444; padding: 3px 6px; text-align: left; }}
td.num {{ text-align: right; }}
.warn {{ color: #b00; font-weight: bold; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>{title}</h1>
{replaced}
<p>Warehouse <b>{escape(sheet.warehouse_id)}</b> &middot; vehicle <b>{escape(sheet.vehicle_id)}</b> &middot;
departs {escape(sheet.start_at.isoformat())} &middot; {len(sheet.lines)} shipments, {sheet.load_kg:.1f} kg,
{sheet.load_m3:.3f} m&sup3; &middot; {sheet.distance_m / 1000:.1f} km, {_hms(sheet.duration_s)}</p>
<p>Load in this order: position 1 goes in first (deepest in the vehicle), it is delivered last.</p>
<table>
<thead><tr><th>Pos.</th><th>Waybill</th><th>Shipment</th><th>Order</th><th>Pieces</th><th>kg</th><th>m&sup3;</th>
<th>Stop</th><th>Drop-off</th><th>ETA</th><th>Pick task</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
