"""The customer's tracking page as server-rendered HTML: no script, no external resource, inline styles,
phone-first, a few kilobytes. It renders the tracking answer (``api.schemas.tracking``), so the page and
``/track/{token}.json`` always show the same data.

Templates are ``api/templates/tracking*.html`` (``string.Template``); every value put into them is
escaped here. Times are shown in China Standard Time (the customers are stores in East China) and carry
their ISO-8601 UTC form in ``<time datetime>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from string import Template

from api.schemas.tracking import TrackedNodeOut, TrackedShipmentOut, TrackingOut
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
    if shipment.delivered_at is not None:
        rows.append(_row(text("delivered_at", language), _time(shipment.delivered_at)))
    if shipment.signer:
        rows.append(_row(text("signer", language), escape(shipment.signer)))
    items = "".join(f'<tr>{_item(line.name, line.sku)}<td class="n">{line.qty}</td></tr>' for line in shipment.lines)
    heading = escape(text("shipment", language, n=n, count=count))
    return (
        f'<section class="shipment" data-shipment="{escape(shipment.id)}"><h2>{heading}</h2><dl>{"".join(rows)}</dl>'
        f'<table><thead><tr><th>{escape(text("item", language))}</th><th class="n">{escape(text("qty", language))}'
        f"</th></tr></thead><tbody>{items}</tbody></table></section>"
    )


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


def _summary(answer: TrackingOut, language: Language) -> str:
    rows = [
        _row(text("placed_at", language), _time(answer.created_at)),
        _row(text("promised_by", language), _time(answer.promised_by)),
    ]
    if answer.eta_at is not None:
        rows.append(f'<dt>{escape(text("eta", language))}</dt><dd class="eta">{_time(answer.eta_at)}</dd>')
    if answer.delivery_address:
        rows.append(_row(text("address", language), escape(answer.delivery_address)))
    return f"<dl>{''.join(rows)}</dl>"


def _html_lang(language: Language) -> str:
    return "zh-CN" if language == "zh" else "en"


def render_tracking_page(answer: TrackingOut, switch_url: str) -> str:
    """The tracking page of one order; ``switch_url`` shows it in the other language."""
    language = answer.language
    other: Language = "en" if language == "zh" else "zh"
    count = len(answer.shipments)
    return _template("tracking.html").substitute(
        html_lang=_html_lang(language),
        title=escape(text("title", language)),
        heading=escape(text("heading", language, order_id=answer.order_id)),
        status_label=escape(answer.status_label),
        summary=_summary(answer, language),
        switch=f'<a href="{escape(switch_url)}" hreflang="{_html_lang(other)}" lang="{_html_lang(other)}">'
        f"{escape(text('switch', language))}</a>",
        progress_heading=escape(text("progress", language)),
        nodes="\n".join(_node(node, language) for node in answer.progress),
        shipments="\n".join(_shipment(s, n, count, language) for n, s in enumerate(answer.shipments, start=1)),
        lines_heading=escape(text("lines", language)),
        lines=_lines(answer, language),
        footer=escape(text("footer", language)),
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
