"""Service configuration read once from the environment (prefix ``DISPATCH_``).

Domain code never reads settings; the API and CLI pass the values it needs as plain parameters. The
engines' tuning knobs are their own parameter objects (plain frozen dataclasses that validate themselves),
set field by field as ``DISPATCH_MATCHER__MAX_DISK_K=30`` / ``DISPATCH_PICKING__TIME_LIMIT_S=2`` or
whole as JSON (``DISPATCH_PICKING='{"dp_max_blocks": 3}'``); a nonsense value fails at start-up.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.redis_client import check_redis_url
from matcher.params import MatcherParams
from orders_core.customers.health import HealthPolicy
from orders_core.orders.address_check import AddressPolicy
from orders_core.orders.promise import DeliveryTargets
from orders_core.transport.tracking import CarrierEventPolicy
from orders_core.transport.webhooks.model import DEFAULT_RETRY_S, WebhookParams, parse_retry_schedule
from routing.params import RoutingParams
from warehouse_picking.params import PickingParams

DEFAULT_VAR_DIR = Path("var")
#: The payment secret the demo ships with: public, so refused outside the demo (see api/startup_checks.py).
DEFAULT_PAYMENT_SECRET = "demo-payment-secret"


class TransportSettings(BaseModel):
    """Carrier assignment and e-waybills (``DISPATCH_TRANSPORT__ASSIGN_AT=picked`` etc.)."""

    model_config = ConfigDict(frozen=True)

    # When shipments get a carrier on their own: at allocation, once picked (order loaded), or never.
    assign_at: Literal["allocation", "picked", "manual"] = "allocation"
    radius_m: float = Field(default=3000.0, gt=0, le=1_000_000)
    # Wider radii tried in turn when nobody is eligible at radius_m (None: match_fallback_steps_m).
    fallback_radii_m: tuple[float, ...] | None = None
    per_carrier_capacity: int = Field(default=1, ge=1, le=1000)
    # The automatic sweep runs at least this often (and at once when an order is allocated or loaded).
    sweep_interval_s: float = Field(default=5.0, ge=0)
    # After a wake-up the sweep waits this long, so shipments becoming ready together are batched together.
    batch_window_s: float = Field(default=0.5, ge=0, le=60)
    # How often shipments with an open no_carrier_in_range exception are tried again (0: never).
    retry_interval_s: float = Field(default=60.0, ge=0)
    package_max_kg: float = Field(default=30.0, gt=0)
    package_max_m3: float = Field(default=0.25, gt=0)


class TrackingSettings(BaseModel):
    """The public tracking pages: how many unknown tokens a client address may ask for within the window
    before it is answered 429 (``DISPATCH_TRACKING__MISS_LIMIT=20``, ``__MISS_WINDOW_S=60``), and the map.

    The map needs no tile server: by default it shows the carrier, the drop-off and the circle where the
    vehicle may be by now on a plain background. ``DISPATCH_TRACKING__TILE_URL`` (a Leaflet URL template
    such as ``https://tiles.example.cn/{z}/{x}/{y}.png``, or a path on this service) adds a basemap, with
    ``__TILE_ATTRIBUTION`` shown under it. ``__TILES_GCJ02`` says which datum the tiles are drawn in:
    ``true`` (the default; every basemap licensed in mainland China) converts the points from WGS-84 to
    GCJ-02 before they reach the page, ``false`` (OpenStreetMap-style WGS-84 tiles) leaves them as they
    are. Without tiles the points are converted too, so coordinates shown on the page match Chinese maps.
    """

    model_config = ConfigDict(frozen=True)

    miss_limit: int = Field(default=20, ge=1, le=100_000)
    miss_window_s: float = Field(default=60.0, gt=0, le=86_400)
    tile_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://|/)[^\s\"'<>]+$")
    tile_attribution: str = Field(default="", max_length=300)
    tiles_gcj02: bool = True


class AuthSettings(BaseModel):
    """Failed bearer authentications: a client address that presented ``failure_limit`` (20) unknown or
    revoked tokens within ``failure_window_s`` (60 s) is answered 429 with ``Retry-After`` on every
    authenticated request until they age out (``DISPATCH_AUTH__FAILURE_LIMIT``, ``__FAILURE_WINDOW_S``)."""

    model_config = ConfigDict(frozen=True)

    failure_limit: int = Field(default=20, ge=1, le=100_000)
    failure_window_s: float = Field(default=60.0, gt=0, le=86_400)


class StockSettings(BaseModel):
    """Stock-lock leases and the online reconciler (``DISPATCH_STOCK__LEASE_S=15`` etc.; docs/STOCK_PROTOCOL.md)."""

    model_config = ConfigDict(frozen=True)

    # How long a hold may stay taken but uncommitted before the reconciler may free it (a process died).
    lease_s: float = Field(default=15.0, gt=0, le=3600)
    # How often each API process compares the fast store with the database (0: never; `dispatch stock reconcile`).
    reconcile_interval_s: float = Field(default=10.0, ge=0)
    # Counts and holds changed more recently than this are left alone (their after-commit writes may be running).
    reconcile_grace_s: float = Field(default=30.0, ge=0)


class HealthSettings(BaseModel):
    """Customer health score (``DISPATCH_HEALTH__RECOMPUTE_INTERVAL_S=3600`` etc.; docs/HEALTH_SCORE.md)."""

    model_config = ConfigDict(frozen=True)

    # How often each API process rescores every customer (0: never; POST .../health/recompute still works).
    recompute_interval_s: float = Field(default=3600.0, ge=0)
    recent_days: int = Field(default=28, ge=1, le=366)
    baseline_periods: int = Field(default=3, ge=1, le=52)
    window_days: int = Field(default=90, ge=1, le=3660)
    payment_terms_days: float = Field(default=30.0, ge=0, le=366)
    payment_lookback_days: int = Field(default=365, ge=1, le=3660)
    overdue_assumed_days: float = Field(default=60.0, ge=0, le=3660)

    def policy(self) -> HealthPolicy:
        """The domain's parameter object."""
        return HealthPolicy(
            recent_days=self.recent_days,
            baseline_periods=self.baseline_periods,
            window_days=self.window_days,
            payment_terms_days=self.payment_terms_days,
            payment_lookback_days=self.payment_lookback_days,
            overdue_assumed_days=self.overdue_assumed_days,
        )


class PrebookSettings(BaseModel):
    """Pre-booked stock (``DISPATCH_PREBOOK__MIN_SCORE=75`` etc.; docs/STOCK_PROTOCOL.md, "Pre-booked stock")."""

    model_config = ConfigDict(frozen=True)

    # Customers whose latest health score is at least this get their coming week's demand pre-booked.
    min_score: float = Field(default=75.0, ge=0, le=100)
    # How often each API process books, settles and expires soft holds (0: never; `dispatch prebook ...`).
    interval_s: float = Field(default=300.0, ge=0)
    # The default demand: mean weekly quantity of the customer's orders over this many weeks.
    history_weeks: int = Field(default=4, ge=1, le=104)
    # What sizes a pre-booking: the latest demand forecast (each customer's share of its SKU x region
    # forecast; the history mean for customers it says nothing about), or the history mean alone.
    demand: Literal["forecast", "history_mean"] = "forecast"


class ConsoleSettings(BaseModel):
    """The dispatch console (``api/console``): the key its CSRF tokens are derived with
    (``DISPATCH_CONSOLE__SECRET``; unset: derived from the payment secret, which every process of a deployment
    shares) and how long each kind of exception may wait for a decision before the inbox shows it as over
    target (``DISPATCH_CONSOLE__EXCEPTION_TARGETS_S='{"price_conflict": 1800}'``; other kinds:
    ``default_exception_target_s``)."""

    model_config = ConfigDict(frozen=True)

    secret: str | None = None
    exception_targets_s: dict[str, float] = Field(
        default_factory=lambda: {
            "price_conflict": 1800.0,
            "credit_limit_exceeded": 3600.0,
            "credit_overdue": 3600.0,
            "stock_shortage": 7200.0,
            "short_pick": 3600.0,
            "no_carrier_in_range": 1800.0,
            "delivery_failed": 3600.0,
        }
    )
    default_exception_target_s: float = Field(default=4 * 3600.0, gt=0)

    def exception_target_s(self, kind: str) -> float:
        """How long an exception of ``kind`` may wait for a person's decision."""
        return self.exception_targets_s.get(kind, self.default_exception_target_s)


class UiSettings(BaseModel):
    """The console's live map (``/console/map``). It needs no tile server: hexagons and points are drawn over
    a plain background with the warehouses and carriers' coverage areas as a vector basemap.
    ``DISPATCH_UI__TILE_URL`` (a Leaflet URL template such as ``https://tiles.example.cn/{z}/{x}/{y}.png``, or
    a path on this service) adds raster tiles under them, credited with ``__TILE_ATTRIBUTION``;
    ``__TILES_GCJ02`` (default true: every basemap licensed in mainland China) shifts what the map draws
    from WGS-84 to GCJ-02 so it sits on those tiles (false: WGS-84 tiles such as OpenStreetMap's).
    ``__MAP_REFRESH_S`` is how often the open map reloads its layers."""

    model_config = ConfigDict(frozen=True)

    tile_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://|/)[^\s\"'<>]+$")
    tile_attribution: str = Field(default="", max_length=300)
    tiles_gcj02: bool = True
    map_refresh_s: float = Field(default=30.0, ge=5, le=3600)


class Settings(BaseSettings):
    """Everything an operator may tune; defaults give the embedded single-process setup."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore", env_nested_delimiter="__")

    database_url: str = f"sqlite:///{DEFAULT_VAR_DIR / 'dispatch.sqlite3'}"
    redis_url: str | None = None
    admin_token: str | None = None
    payment_secret: str = DEFAULT_PAYMENT_SECRET
    payment_window_s: int = 300
    price_tolerance: Decimal = Decimal("0.02")
    prepaid_timeout_s: int = 1800
    # How long a temporary credit limit lasts when the approval (or customer PUT) gives no expiry.
    temporary_credit_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    jobs_interval_s: float = 30.0
    # How often the stage-timing deltas the pipeline writes are folded into the analytics' counts (0: never;
    # readers add the deltas not yet folded, so this bounds the table's size, not the figures' freshness).
    analytics_fold_interval_s: float = Field(default=10.0, ge=0)
    # A carrier whose newest fix is older than this is not matched (the contract's default: 900 s); 0 = no limit.
    max_position_age_s: float = Field(default=900.0, ge=0)
    match_fallback_steps_m: tuple[float, ...] = (3000.0, 5000.0, 8000.0, 12000.0)
    # Logs: "console" (one readable line per request), "json" (one JSON object per line), or "auto":
    # console when stderr is a terminal, JSON when it is not (a file, a pipe, a log collector).
    log_format: Literal["auto", "console", "json"] = "auto"
    # The older switch, still honoured when log_format is "auto": True = json, False = console.
    log_json: bool | None = None
    # The carrier index's and the pick-route solver's tuning knobs (see matcher.params, warehouse_picking.params).
    matcher: MatcherParams = MatcherParams()
    picking: PickingParams = PickingParams()
    # Delivery routing: travel model (DISPATCH_ROUTING__OSM_PBF for a road network), solver, time limits.
    routing: RoutingParams = RoutingParams()
    # The delivery promise and the planned duration of each lifecycle step (DISPATCH_DELIVERY__LEAD_TIME_S=...).
    delivery: DeliveryTargets = DeliveryTargets()
    transport: TransportSettings = TransportSettings()
    # The address check at intake (DISPATCH_ADDRESS__FAR_FROM_CUSTOMER_M=30000, __CHECK_COVERAGE=false).
    address: AddressPolicy = AddressPolicy()
    # Carrier callbacks: ETA speed and detour, the delivery distance check
    # (DISPATCH_CARRIER_EVENTS__DELIVERY_TOLERANCE_M=500, ...).
    carrier_events: CarrierEventPolicy = CarrierEventPolicy()
    # Carrier webhooks: the contract's DISPATCH_WEBHOOK_RETRY_S (waits before each retry, then dead-letter)
    # and the delivery worker's knobs (DISPATCH_WEBHOOKS__ROTATION_GRACE_S, __WORKER_ENABLED, ...).
    webhook_retry_s: str = ",".join(f"{wait:g}" for wait in DEFAULT_RETRY_S)
    webhooks: WebhookParams = WebhookParams()
    tracking: TrackingSettings = TrackingSettings()
    auth: AuthSettings = AuthSettings()
    stock: StockSettings = StockSettings()
    health: HealthSettings = HealthSettings()
    prebook: PrebookSettings = PrebookSettings()

    console: ConsoleSettings = ConsoleSettings()
    ui: UiSettings = UiSettings()

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: str | None) -> str | None:
        # redis:// (one server) or redis+cluster:// (a cluster): infra.redis_client; checked without connecting.
        if value:
            check_redis_url(value)
        return value

    @field_validator("webhook_retry_s")
    @classmethod
    def _retry_schedule_parses(cls, value: str) -> str:
        parse_retry_schedule(value)
        return value

    def webhook_params(self) -> WebhookParams:
        """The delivery worker's parameters, with the retry waits of ``DISPATCH_WEBHOOK_RETRY_S``."""
        return replace(self.webhooks, retry_s=parse_retry_schedule(self.webhook_retry_s))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
