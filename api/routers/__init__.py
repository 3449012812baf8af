"""HTTP routers, one module per area of the product."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    """Every router of the service, imported lazily so that importing ``api`` stays cheap."""
    from api.routers import (
        analytics,
        carrier_events,
        carriers,
        customer_health,
        dispatch,
        exceptions,
        forecasts,
        geofences,
        imports,
        map,
        master_data,
        matching,
        orders,
        payments,
        picking,
        prebook,
        reconciliations,
        routes,
        stock,
        tokens,
        tracking,
        transfers,
        transport,
        webhooks,
    )

    return [
        tokens.router,
        customer_health.router,  # before master_data: /v1/customers/health is not a customer
        master_data.router,
        stock.router,
        geofences.router,
        carriers.router,
        carrier_events.router,
        matching.router,
        orders.router,
        exceptions.router,
        payments.router,
        picking.router,
        dispatch.router,
        transport.router,
        routes.router,
        webhooks.router,
        transfers.router,
        tracking.router,
        analytics.router,
        imports.router,
        forecasts.router,
        prebook.router,
        reconciliations.router,
        map.router,
    ]
