"""An order row as tests seed it straight into the database (analytics, root causes, planning): one place
for the columns every order needs, so a new required column is added once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from shapely.geometry import Point

from orders_core.orders.tables import OrderRow


def order_row(
    order_id: str,
    customer_id: str,
    placed_at: datetime,
    *,
    status: str = "placed",
    total: Decimal = Decimal("10.00"),
    lat: float = 31.2,
    lng: float = 121.5,
    **columns: Any,
) -> OrderRow:
    """A checked, priced order created and last updated at ``placed_at``; ``columns`` sets any other column
    (``first_<node>_at`` milestones, say)."""
    return OrderRow(
        id=order_id,
        customer_id=customer_id,
        status=status,
        price_ok=True,
        credit_ok=True,
        total=total,
        payment_status="not_required",
        delivery_lat=lat,
        delivery_lng=lng,
        delivery_location=Point(lng, lat),
        created_at=placed_at,
        updated_at=placed_at,
        tracking_token=f"token-{order_id}",
        **columns,
    )
