"""The printable e-waybill label (A6 PDF): the waybill number as a Code 128 barcode and as text, a QR
code (the number, for phone scanners), sender, receiver with the masked phone, pieces, weight and cash
on delivery. Drawn with reportlab's barcode widgets, never by hand."""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

_MARGIN = 6 * mm


def _fit(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _qr_drawing(value: str, size: float) -> Drawing:
    widget = qr.QrCodeWidget(value)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def waybill_label_pdf(waybill: dict[str, Any]) -> bytes:
    """The label of a waybill given as ``waybills.waybill_view`` answers it."""
    number = str(waybill["waybill_no"])
    width, height = A6
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"E-waybill {number}")
    pdf.setSubject(number)
    top = height - _MARGIN
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(_MARGIN, top - 10, f"E-WAYBILL  {waybill.get('carrier_id', '')}")
    barcode = code128.Code128(number, barHeight=16 * mm, barWidth=0.3 * mm, humanReadable=False)
    barcode.drawOn(pdf, _MARGIN, top - 16 - 16 * mm)
    pdf.setFont("Courier-Bold", 12)
    pdf.drawString(_MARGIN, top - 30 - 16 * mm, number)
    qr_size = 24 * mm
    renderPDF.draw(_qr_drawing(number, qr_size), pdf, width - _MARGIN - qr_size, top - 30 - 16 * mm - qr_size)
    y = top - 46 - 16 * mm
    kind = waybill.get("kind", "single")
    pdf.setFont("Helvetica", 8)
    if kind == "child":
        pdf.drawString(
            _MARGIN, y, f"Package {waybill.get('package_index')} of master {waybill.get('parent_waybill_no')}"
        )
        y -= 11
    elif kind == "master":
        pdf.drawString(_MARGIN, y, f"Master waybill, {len(waybill.get('child_waybill_nos', []))} child waybills")
        y -= 11
    sender = waybill.get("sender") or {}
    receiver = waybill.get("receiver") or {}
    lines = [
        ("FROM", f"{sender.get('name', '')} ({sender.get('warehouse_id', '')})"),
        ("", sender.get("address") or ""),
        ("TO", f"{receiver.get('name', '')}  {receiver.get('phone') or ''}"),
        ("", receiver.get("address") or ""),
        ("", _latlng(receiver.get("location"))),
        (
            "LOAD",
            f"{waybill.get('pieces')} pc  {waybill.get('weight_kg', 0):.2f} kg  {waybill.get('volume_m3', 0):.3f} m3",
        ),
        ("ORDER", f"{waybill.get('order_id', '')} / {waybill.get('shipment_id', '')}"),
        ("PROMISE", str(waybill.get("promised_delivery_at") or "")),
    ]
    cod = waybill.get("cash_on_delivery")
    if cod:
        lines.append(("COD", f"collect {float(cod['amount']):.2f}"))
    if waybill.get("route_id"):
        lines.append(
            (
                "ROUTE",
                f"{waybill['route_id']} stop {waybill.get('stop_sequence')} load {waybill.get('loading_position')}",
            )
        )
    for label, text in lines:
        if not text and not label:
            continue
        pdf.setFont("Helvetica-Bold", 8)
        pdf.drawString(_MARGIN, y, label)
        pdf.setFont("Helvetica", 8)
        pdf.drawString(_MARGIN + 16 * mm, y, _fit(str(text)))
        y -= 11
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _latlng(location: dict[str, float] | None) -> str:
    return "" if not location else f"{location['lat']:.6f}, {location['lng']:.6f}"
