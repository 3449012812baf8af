"""Walk one order from intake to ``delivered`` against a running service, over HTTP, as its users would.

The dispatch desk sets up a warehouse, SKUs, a customer and a carrier; the customer places an order; the
warehouse handheld picks it; the service assigns the carrier (automatically, by default at allocation) and
issues the e-waybill; the carrier reports pickup, a position and the delivery with proof. Prints the order
as ``GET /v1/orders/{id}`` answers it at the end (JSON), so a reader sees the whole timeline.

    DISPATCH_ADMIN_TOKEN=secret DISPATCH_PAYMENT_SECRET=gw-secret .venv/bin/dispatch serve --no-demo &
    .venv/bin/python scripts/order_walkthrough.py --url http://127.0.0.1:8000 --token secret
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

WAREHOUSE = {"lat": 30.2080, "lng": 120.2110}
DROP = {"lat": 30.2200, "lng": 120.1900, "address": "滨江区江南大道 100 号"}
LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an admin token (DISPATCH_ADMIN_TOKEN)")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6].upper()  # fresh ids, so the walk can be repeated on one database
    http = httpx.Client(base_url=args.url, timeout=30)
    admin = {"Authorization": f"Bearer {args.token}"}

    def call(
        method: str, path: str, headers: dict[str, str], body: Any = None, ok: tuple[int, ...] = (200, 201)
    ) -> Any:
        answer = http.request(method, path, json=body, headers=headers)
        if answer.status_code not in ok:
            raise SystemExit(f"{method} {path} -> {answer.status_code}: {answer.text}")
        return answer.json()

    def token(role: str, subject: str) -> dict[str, str]:
        created = call("POST", "/v1/tokens", admin, {"role": role, "subject": subject})
        return {"Authorization": f"Bearer {created['token']}"}

    wh, sku, customer_id, carrier_id = f"WH-{run}", f"TEA-{run}", f"CUST-{run}", f"VAN-{run}"
    call("PUT", f"/v1/warehouses/{wh}", admin, {"name": "Binjiang DC", "location": WAREHOUSE, "layout": LAYOUT})
    call(
        "PUT",
        f"/v1/skus/{sku}",
        admin,
        {"name": "Longjing 250 g", "unit_price": 88, "weight_kg": 0.3, "volume_m3": 0.001},
    )
    call("PUT", f"/v1/customers/{customer_id}", admin, {"name": "西湖茶馆", "credit_limit": 10_000, "location": DROP})
    call("PUT", f"/v1/warehouses/{wh}/stock/{sku}", admin, {"on_hand": 40})
    staff = token("warehouse", wh)
    call("PUT", f"/v1/warehouses/{wh}/slots/{sku}", staff, {"slot": "A02-L-004"})
    call(
        "PUT",
        f"/v1/carriers/{carrier_id}",
        admin,
        {"name": "Swift Van", "vehicle_type": "van", "capacity_kg": 800, "capacity_m3": 6, "coverage": None},
    )
    van = token("carrier", carrier_id)
    near_dc = {"lat": WAREHOUSE["lat"] + 0.0005, "lng": WAREHOUSE["lng"] + 0.0005}
    now = datetime.now(UTC).isoformat()
    call("POST", "/v1/carriers/positions", van, {"positions": [{"carrier_id": carrier_id, **near_dc, "ts": now}]})

    shopper = token("customer", customer_id)
    order = call(
        "POST",
        "/v1/orders",
        {**shopper, "Idempotency-Key": f"walk-{run}"},
        {"customer_id": customer_id, "lines": [{"sku": sku, "qty": 4, "unit_price": 88}], "delivery": DROP},
    )
    order_id = order["id"]
    cart = {"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}}
    for task in call("POST", f"/v1/warehouses/{wh}/waves", staff, cart)["tasks"]:
        picks = [
            {"step": step["step"], "picked_qty": step["qty"]} for step in task["steps"] if step["order_id"] == order_id
        ]
        call("POST", f"/v1/pick-tasks/{task['id']}/confirm", staff, {"picks": picks})

    deadline = time.monotonic() + 30
    while not (shipment := call("GET", f"/v1/orders/{order_id}", admin)["shipments"][0]).get("waybill_no"):
        if time.monotonic() > deadline:  # automatic assignment off (DISPATCH_TRANSPORT__ASSIGN_AT=manual)
            call("POST", f"/v1/shipments/{shipment['id']}/assign", admin, {})
        time.sleep(0.2)
    waybill_no = shipment["waybill_no"]

    def event(kind: str, **fields: Any) -> None:
        body = {
            "event_id": uuid.uuid4().hex,
            "waybill_no": waybill_no,
            "type": kind,
            "at": datetime.now(UTC).isoformat(),
            **fields,
        }
        call(
            "POST",
            f"/v1/carriers/{shipment['carrier_id']}/events",
            van if shipment["carrier_id"] == carrier_id else admin,
            body,
        )

    event("picked_up", location=near_dc)
    event("position", location={"lat": 30.2150, "lng": 120.2000})
    event(
        "delivered",
        location={"lat": DROP["lat"], "lng": DROP["lng"]},
        proof={"signer": "王女士", "photo_ref": "pod/0001.jpg"},
    )
    print(json.dumps(call("GET", f"/v1/orders/{order_id}", shopper), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
