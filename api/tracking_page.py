"""The customer's tracking page as server-rendered HTML: inline styles, phone-first, a few kilobytes, the
whole timeline readable before (and without) any script. It renders the tracking answer
(``api.schemas.tracking``), so the page and ``/track/{token}.json`` always show the same data.

Only a page with a map (an order in transit whose carrier has a position) loads a script: Leaflet and
``tracking-map.js``, served by the service from ``/static`` at the end of the body, so the text paints
first; the map's box holds a text fallback meanwhile. ``?elder=1`` switches to the elder-friendly mode
(larger text, 48 px targets); every link of the page keeps the mode and the language, so no cookie is
needed.

Templates are ``api/templates/tracking*.html`` (``string.Template``); every value put into them is
escaped here. Times are shown in China Standard Time (the customers are stores in East China) and carry
their ISO-8601 UTC form in ``<time datetime>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import urlencode

from api.schemas.tracking import (
    EtaWindowOut,
    FulfilmentLineOut,
    PositionOut,
    TrackedNodeOut,
    TrackedShipmentOut,
    TrackingOut,
)
from api.static_files import asset_url
from api.tracking_map import TrackingMap
from orders_core.orders.delays import Language

TEMPLATES = Path(__file__).parent / "templates"
#: The customers' clock.
DISPLAY_TZ = timezone(timedelta(hours=8), "CST")

TEXTS: dict[str, dict[Language, str]] = {
    "title": {"zh": "订单跟踪", "en": "Order tracking"},
    "heading": {"zh": "订单 {order_id}", "en": "Order {order_id}"},
    "placed_at": {"zh": "下单时间", "en": "Placed"},
    "promised_by": {"zh": "承诺送达", "en": "Promised by"},
    "eta": {"zh": "预计送达", "en": "Expected delivery"},
    "address": {"zh": "收货地址", "en": "Delivery address"},
    "progress": {"zh": "订单进度", "en": "Progress"},
    "reached": {"zh": "完成于 {at}", "en": "Reached {at}"},
    "expected": {"zh": "预计 {at}", "en": "Expected {at}"},
    "planned": {"zh": "计划 {at}", "en": "Planned {at}"},
    "not_planned": {"zh": "不再进行", "en": "Not going ahead"},
    "late": {"zh": "延误 {duration}：{reason}", "en": "Late by {duration}: {reason}"},
    "may_be_late": {"zh": "可能延误：{reason}", "en": "May be late: {reason}"},
    "shipment": {"zh": "包裹 {n}/{count}", "en": "Shipment {n} of {count}"},
    "warehouse": {"zh": "发货仓库", "en": "From"},
    "carrier": {"zh": "承运商", "en": "Carrier"},
    "waybill": {"zh": "运单号", "en": "Waybill no."},
    "status": {"zh": "状态", "en": "Status"},
    "delivered_at": {"zh": "送达时间", "en": "Delivered"},
    "signer": {"zh": "签收人", "en": "Signed by"},
    "pending": {"zh": "待分配", "en": "Not assigned yet"},
    "lines": {"zh": "商品明细", "en": "Items"},
    "item": {"zh": "商品", "en": "Item"},
    "qty": {"zh": "数量", "en": "Qty"},
    "unit_price": {"zh": "单价", "en": "Unit price"},
    "amount": {"zh": "金额", "en": "Amount"},
    "total": {"zh": "合计", "en": "Total"},
    "switch": {"zh": "English", "en": "中文"},
    "elder_on": {"zh": "大字模式", "en": "Larger text"},
    "elder_off": {"zh": "标准字号", "en": "Standard text"},
    "eta_window": {"zh": "预计 {start}–{end}送达", "en": "Expected {start}–{end}"},
    "eta_window_label": {"zh": "送达时间窗", "en": "Delivery window"},
    "position_age": {"zh": "位置更新于 {minutes} 分钟前", "en": "Position updated {minutes} min ago"},
    "position_age_hours": {"zh": "位置更新于 {hours} 小时前", "en": "Position updated {hours} h ago"},
    "position_fresh": {"zh": "位置更新于 1 分钟内", "en": "Position updated under a minute ago"},
    "no_position": {"zh": "暂无车辆位置", "en": "No vehicle position yet"},
    "map": {"zh": "车辆位置", "en": "Where the goods are"},
    "map_label": {
        "zh": "地图：车辆位置与收货地址",
        "en": "Map: the vehicle's position and the delivery address",
    },
    "map_fallback": {
        "zh": "车辆 {carrier}，收货点 {dropoff}（{crs} 坐标）",
        "en": "Vehicle at {carrier}, delivery point at {dropoff} ({crs} coordinates)",
    },
    "legend_carrier": {"zh": "车辆", "en": "Vehicle"},
    "legend_dropoff": {"zh": "收货地址", "en": "Delivery address"},
    "legend_circle": {"zh": "车辆此刻可能所在范围", "en": "Where the vehicle may be by now"},
    "fulfilment": {"zh": "配送明细", "en": "Line by line"},
    "ordered": {"zh": "订购", "en": "Ordered"},
    "reserved": {"zh": "已备货", "en": "Reserved"},
    "loaded": {"zh": "已装车", "en": "Loaded"},
    "delivered_qty": {"zh": "已送达", "en": "Delivered"},
    "shortfall": {"zh": "缺 {qty} 件：{reason}", "en": "{qty} short: {reason}"},
    "proof": {"zh": "签收凭证", "en": "Proof of delivery"},
    "photo_ref": {"zh": "签收照片编号", "en": "Photo reference"},
    "proof_note": {"zh": "备注", "en": "Note"},
    "attempts_label": {"zh": "派送", "en": "Delivery"},
    "attempts": {"zh": "派送失败 {n} 次", "en": "{n} failed attempt(s)"},
    "footer": {"zh": "时间均为北京时间 (UTC+8)", "en": "Times are China Standard Time (UTC+8)"},
    "missing_title": {"zh": "未找到订单", "en": "Order not found"},
    "missing": {
        "zh": "此跟踪链接无效或已失效，请核对链接。",
        "en": "This tracking link is not valid. Please check the link.",
    },
    "limited_title": {"zh": "请求过于频繁", "en": "Too many requests"},
    "limited": {"zh": "请在 {seconds} 秒后重试。", "en": "Please try again in {seconds} seconds."},
}


def text(key: str, language: Language, **values: object) -> str:
    """A fixed text of the page in ``language`` with ``values`` filled in (not escaped)."""
    return TEXTS[key][language].format(**values)


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _time(at: datetime) -> str:
    local = at.astimezone(DISPLAY_TZ)
    return f'<time datetime="{at.astimezone(UTC).isoformat()}">{local:%Y-%m-%d %H:%M}</time>'


def _duration(seconds: float, language: Language) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    units = (("天", "d"), ("小时", "h"), ("分钟", "min"))
    parts = [
        f"{value}{zh}" if language == "zh" else f"{value} {en}"
        for value, (zh, en) in zip((days, hours, minutes), units, strict=True)
        if value
    ]
    return ("" if language == "zh" else " ").join(parts[:2])


def _money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _clock(at: datetime, as_of: datetime, language: Language) -> str:
    """HH:MM in China time, with the date in front when it is not today's."""
    local, today = at.astimezone(DISPLAY_TZ), as_of.astimezone(DISPLAY_TZ)
    shown = f"{local:%H:%M}"
    if local.date() != today.date():
        shown = (f"{local.month}月{local.day}日 " if language == "zh" else f"{local.day} {local:%b} ") + shown
    return f'<time datetime="{at.astimezone(UTC).isoformat()}">{shown}</time>'


def eta_window_text(window: EtaWindowOut, as_of: datetime, language: Language) -> str:
    """ "预计 HH:MM–HH:MM送达" (HTML: each end in a ``<time>``)."""
    template = escape(TEXTS["eta_window"][language])
    return template.format(start=_clock(window.earliest, as_of, language), end=_clock(window.latest, as_of, language))


def position_age_text(position: PositionOut, language: Language) -> str:
    """ "位置更新于 N 分钟前": whole minutes since the carrier's last fix (hours beyond two of them)."""
    minutes = int(position.age_s // 60)
    if minutes < 1:
        return text("position_fresh", language)
    if minutes >= 120:
        return text("position_age_hours", language, hours=minutes // 60)
    return text("position_age", language, minutes=minutes)


def _node(node: TrackedNodeOut, language: Language) -> str:
    classes = ["done" if node.reached_at is not None else "ahead"]
    if node.late or node.forecast_late:
        classes.append("late")
    details: list[str] = []
    if node.reached_at is not None:
        details.append(text("reached", language, at=_time(node.reached_at)))
    elif node.expected_at is not None:
        details.append(text("expected", language, at=_time(node.expected_at)))
    else:
        details.append(escape(text("not_planned", language)))
    if (node.late or node.forecast_late) and node.due_at is not None:
        details.append(text("planned", language, at=_time(node.due_at)))
    reason = ""
    if node.late and node.delay_reason:
        said = text("late", language, duration=_duration(node.late_by_s, language), reason=node.delay_reason)
        reason = f'<p class="reason">{escape(said)}</p>'
    elif node.forecast_late and node.delay_reason:
        reason = f'<p class="reason">{escape(text("may_be_late", language, reason=node.delay_reason))}</p>'
    return (
        f'<li class="{" ".join(classes)}" data-status="{escape(node.status)}">'
        f'<div class="node">{escape(node.label)}</div>'
        f'<p class="muted">{" · ".join(details)}</p>{reason}</li>'
    )


def _item(name: str, sku: str) -> str:
    return f'<td>{escape(name)} <span class="muted">{escape(sku)}</span></td>'


def _row(term: str, value: str) -> str:
    return f"<dt>{escape(term)}</dt><dd>{value}</dd>"


def _shipment(shipment: TrackedShipmentOut, n: int, count: int, language: Language) -> str:
    rows = [
        _row(text("status", language), escape(shipment.status_label)),
        _row(text("warehouse", language), escape(shipment.warehouse)),
        _row(text("carrier", language), escape(shipment.carrier or text("pending", language))),
    ]
    if shipment.waybill_no:
        rows.append(_row(text("waybill", language), escape(shipment.waybill_no)))
    if shipment.eta_at is not None and shipment.delivered_at is None:
        rows.append(_row(text("eta", language), _time(shipment.eta_at)))
    if shipment.failed_attempts and shipment.status != "delivered":
        attempts = text("attempts", language, n=shipment.failed_attempts)
        rows.append(_row(text("attempts_label", language), escape(attempts)))
    if shipment.position is not None and shipment.delivered_at is None:
        rows.append(_row(text("map", language), escape(position_age_text(shipment.position, language))))
    items = "".join(f'<tr>{_item(line.name, line.sku)}<td class="n">{line.qty}</td></tr>' for line in shipment.lines)
    heading = escape(text("shipment", language, n=n, count=count))
    return (
        f'<section class="shipment" data-shipment="{escape(shipment.id)}"><h2>{heading}</h2><dl>{"".join(rows)}</dl>'
        f"{_proof(shipment, language)}"
        f'<table><thead><tr><th>{escape(text("item", language))}</th><th class="n">{escape(text("qty", language))}'
        f"</th></tr></thead><tbody>{items}</tbody></table></section>"
    )


def _proof(shipment: TrackedShipmentOut, language: Language) -> str:
    """Proof of delivery: who signed, when, the photo's reference and a note, as the carrier sent them."""
    if shipment.delivered_at is None:
        return ""
    rows = [_row(text("delivered_at", language), _time(shipment.delivered_at))]
    proof = shipment.proof
    signer = shipment.signer or (proof.signer if proof is not None else None)
    if signer:
        rows.append(_row(text("signer", language), escape(signer)))
    if proof is not None and proof.photo_ref:
        rows.append(_row(text("photo_ref", language), f"<code>{escape(proof.photo_ref)}</code>"))
    if proof is not None and proof.note:
        rows.append(_row(text("proof_note", language), escape(proof.note)))
    return f'<div class="proof"><h3>{escape(text("proof", language))}</h3><dl>{"".join(rows)}</dl></div>'


def _lines(answer: TrackingOut, language: Language) -> str:
    head = f"<th>{escape(text('item', language))}</th>" + "".join(
        f'<th class="n">{escape(text(key, language))}</th>' for key in ("qty", "unit_price", "amount")
    )
    rows = "".join(
        f'<tr>{_item(line.name, line.sku)}<td class="n">{line.qty}</td>'
        f'<td class="n">{_money(line.unit_price)}</td><td class="n">{_money(line.unit_price * line.qty)}</td></tr>'
        for line in answer.lines
    )
    total = f'<tr><th colspan="3">{escape(text("total", language))}</th><td class="n">{_money(answer.total)}</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody><tfoot>{total}</tfoot></table>"


def _fulfilment(lines: list[FulfilmentLineOut], language: Language) -> str:
    """Per SKU: ordered, reserved, loaded, delivered, and a row under it for each shortfall's reason."""
    keys = ("ordered", "reserved", "loaded", "delivered_qty")
    head = f"<th>{escape(text('item', language))}</th>" + "".join(
        f'<th class="n">{escape(text(key, language))}</th>' for key in keys
    )
    rows: list[str] = []
    for line in lines:
        short = " short" if line.shortfalls else ""
        rows.append(
            f'<tr class="line{short}" data-sku="{escape(line.sku)}">{_item(line.name, line.sku)}'
            + "".join(
                f'<td class="n">{value}</td>' for value in (line.ordered, line.reserved, line.loaded, line.delivered)
            )
            + "</tr>"
        )
        for shortfall in line.shortfalls:
            said = text("shortfall", language, qty=shortfall.qty, reason=shortfall.reason)
            rows.append(
                f'<tr class="shortfall" data-code="{escape(shortfall.code)}"><td colspan="5">'
                f'<p class="reason">{escape(said)}</p></td></tr>'
            )
    return f'<table class="fulfilment"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _summary(answer: TrackingOut, language: Language) -> str:
    rows = [
        _row(text("placed_at", language), _time(answer.created_at)),
        _row(text("promised_by", language), _time(answer.promised_by)),
    ]
    if answer.eta_at is not None and answer.eta_window is None:
        rows.append(f'<dt>{escape(text("eta", language))}</dt><dd class="eta">{_time(answer.eta_at)}</dd>')
    if answer.delivery_address:
        rows.append(_row(text("address", language), escape(answer.delivery_address)))
    return f"<dl>{''.join(rows)}</dl>"


def _outlook(answer: TrackingOut, language: Language, as_of: datetime) -> str:
    """The window and the position's age, right under the status: the first thing a customer reads."""
    parts: list[str] = []
    if answer.eta_window is not None:
        label = escape(text("eta_window_label", language))
        window = eta_window_text(answer.eta_window, as_of, language)
        parts.append(f'<p class="eta-window" aria-label="{label}">{window}</p>')
    if answer.position is not None:
        parts.append(f'<p class="position-age">{escape(position_age_text(answer.position, language))}</p>')
    elif answer.status == "in_transit":
        parts.append(f'<p class="position-age">{escape(text("no_position", language))}</p>')
    return "".join(parts)


def _coordinates(point: tuple[float, float]) -> str:
    return f"{point[0]:.5f},{point[1]:.5f}"


def _map(tracking_map: TrackingMap | None, language: Language) -> str:
    """The map's section: a box with a text fallback that ``tracking-map.js`` turns into a Leaflet map."""
    if tracking_map is None:
        return ""
    crs = "GCJ-02" if tracking_map.crs == "gcj02" else "WGS-84"
    fallback = text(
        "map_fallback",
        language,
        carrier=_coordinates(tracking_map.carrier),
        dropoff=_coordinates(tracking_map.dropoff),
        crs=crs,
    )
    tiles = ""
    if tracking_map.tile_url:
        tiles = (
            f' data-tile-url="{escape(tracking_map.tile_url)}"'
            f' data-tile-attribution="{escape(tracking_map.tile_attribution)}"'
        )
    legend = (
        f'<li><span class="dot carrier" aria-hidden="true"></span>{escape(text("legend_carrier", language))}</li>'
        f'<li><span class="dot dropoff" aria-hidden="true"></span>{escape(text("legend_dropoff", language))}</li>'
        f'<li><span class="dot area" aria-hidden="true"></span>{escape(text("legend_circle", language))}</li>'
    )
    return (
        f'<section aria-labelledby="map-heading"><h2 id="map-heading">{escape(text("map", language))}</h2>'
        f'<div id="track-map" class="map" role="region" aria-label="{escape(text("map_label", language))}"'
        f' data-carrier="{_coordinates(tracking_map.carrier)}" data-dropoff="{_coordinates(tracking_map.dropoff)}"'
        f' data-radius-m="{tracking_map.radius_m:.0f}" data-crs="{tracking_map.crs}"{tiles}>'
        f'<p class="map-fallback">{escape(fallback)}</p></div>'
        f'<ul class="legend">{legend}</ul></section>'
    )


def _map_assets(tracking_map: TrackingMap | None) -> str:
    """Leaflet's style and scripts, at the end of the body and only on a page with a map."""
    if tracking_map is None:
        return ""
    return (
        f'<link rel="stylesheet" href="{asset_url("vendor/leaflet/leaflet.css")}">'
        f'<script src="{asset_url("vendor/leaflet/leaflet.js")}" defer></script>'
        f'<script src="{asset_url("tracking-map.js")}" defer></script>'
    )


def _html_lang(language: Language) -> str:
    return "zh-CN" if language == "zh" else "en"


@dataclass(frozen=True)
class PageLinks:
    """The page's own path and its mode: every link it makes keeps the language and the elder mode."""

    path: str
    elder: bool = False

    def to(self, language: Language, *, elder: bool | None = None) -> str:
        """The page in ``language`` (and ``elder`` mode: unchanged when None)."""
        query: dict[str, str] = {"lang": language}
        if self.elder if elder is None else elder:
            query["elder"] = "1"
        return f"{self.path}?{urlencode(query)}"


def render_tracking_page(answer: TrackingOut, links: PageLinks, *, tracking_map: TrackingMap | None = None) -> str:
    """The tracking page of one order (as of ``answer.as_of``); ``links`` switch language and elder mode."""
    language = answer.language
    as_of = answer.as_of or answer.created_at
    other: Language = "en" if language == "zh" else "zh"
    count = len(answer.shipments)
    elder_key = "elder_off" if links.elder else "elder_on"
    return _template("tracking.html").substitute(
        html_lang=_html_lang(language),
        body_class="elder" if links.elder else "standard",
        title=escape(text("title", language)),
        heading=escape(text("heading", language, order_id=answer.order_id)),
        status_label=escape(answer.status_label),
        outlook=_outlook(answer, language, as_of),
        summary=_summary(answer, language),
        switch=f'<a href="{escape(links.to(other))}" hreflang="{_html_lang(other)}" lang="{_html_lang(other)}">'
        f"{escape(text('switch', language))}</a>",
        elder=f'<a href="{escape(links.to(language, elder=not links.elder))}" class="elder-switch">'
        f"{escape(text(elder_key, language))}</a>",
        map=_map(tracking_map, language),
        progress_heading=escape(text("progress", language)),
        nodes="\n".join(_node(node, language) for node in answer.progress),
        shipments="\n".join(_shipment(s, n, count, language) for n, s in enumerate(answer.shipments, start=1)),
        fulfilment_heading=escape(text("fulfilment", language)),
        fulfilment=_fulfilment(answer.fulfilment, language),
        lines_heading=escape(text("lines", language)),
        lines=_lines(answer, language),
        footer=escape(text("footer", language)),
        assets=_map_assets(tracking_map),
    )


def render_missing_page(language: Language, retry_after_s: int | None = None) -> str:
    """The page of an unknown tracking link (the same whatever the token), or of a client told to wait."""
    if retry_after_s is None:
        title, message = text("missing_title", language), text("missing", language)
    else:
        title, message = text("limited_title", language), text("limited", language, seconds=retry_after_s)
    return _template("tracking_missing.html").substitute(
        html_lang=_html_lang(language), title=escape(title), message=escape(message)
    )
