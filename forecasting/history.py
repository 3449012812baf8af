"""A seeded order history of SKUs × regions: daily demand with trend, yearly and weekly seasonality,
promotions, and smooth, erratic, intermittent and lumpy SKUs, aggregated to weeks.

Why daily first: the day-of-week pattern exists only inside a week (it is visible in ``daily_demand``)
and sums out of the weekly series, which carry the trend, the yearly seasonality and the promotions. The
benchmark and the tests use it; the service forecasts the real order history instead.

The demand of one SKU in one region on day ``d`` is drawn around

    rate = base × region share × (1 + growth · d / 364) × yearly(d) × weekday(d) × promotion(week)

* smooth SKUs: negative binomial counts with mild over-dispersion;
* erratic SKUs: the same rate with strong over-dispersion (sizes vary, demand still most weeks);
* intermittent SKUs: rare order days of small, steady sizes;
* lumpy SKUs: rare order days of very variable sizes.

Promotions run a whole week for one SKU in every region (×1.6-2.4), and the week after dips (pull-forward).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

#: A Monday: weeks are labelled by their Monday (ISO weeks).
DEFAULT_START = date(2024, 1, 1)
#: Relative demand Monday..Sunday (a business distributor: busy Monday and Friday, little at weekends).
WEEKDAY_PROFILE = np.array([1.25, 1.1, 1.0, 1.0, 1.3, 0.25, 0.1])
WEEKDAY_PROFILE = WEEKDAY_PROFILE / WEEKDAY_PROFILE.mean()
#: Share of SKUs by pattern: smooth, erratic, intermittent, lumpy.
PATTERN_SHARES = (0.5, 0.15, 0.2, 0.15)
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy")


@dataclass(frozen=True)
class HistorySpec:
    """How big and how long a generated history is; ``seed`` fixes every draw."""

    skus: int = 50
    regions: int = 20
    weeks: int = 104
    seed: int = 13
    start: date = DEFAULT_START
    promotions_per_year: float = 4.0


def _sku_table(spec: HistorySpec, rng: np.random.Generator) -> pd.DataFrame:
    n = spec.skus
    pattern = rng.choice(len(PATTERNS), size=n, p=PATTERN_SHARES)
    return pd.DataFrame(
        {
            "sku": [f"SKU-{i + 1:03d}" for i in range(n)],
            "pattern": [PATTERNS[p] for p in pattern],
            # units per week over all regions, before trend and season
            "base": np.where(pattern < 2, rng.lognormal(np.log(400), 0.6, n), rng.lognormal(np.log(40), 0.4, n)),
            "growth": rng.normal(0.08, 0.12, n),
            "amplitude": rng.uniform(0.15, 0.5, n),
            "phase_days": rng.uniform(0, 365, n),
        }
    )


def daily_demand(spec: HistorySpec = HistorySpec()) -> pd.DataFrame:
    """Units ordered per SKU, region and day: columns ``sku``, ``region``, ``day``, ``y`` (all days, zeros
    included), plus ``pattern`` (the SKU's generating pattern) and ``promo`` (the day is in a promotion week)."""
    rng = np.random.default_rng(spec.seed)
    skus = _sku_table(spec, rng)
    days = spec.weeks * 7
    d = np.arange(days)
    regions = [f"R{r + 1:02d}" for r in range(spec.regions)]
    region_share = rng.dirichlet(np.full(spec.regions, 2.0))
    start_doy = spec.start.timetuple().tm_yday
    weekday = WEEKDAY_PROFILE[(d + spec.start.weekday()) % 7]
    frames = []
    for sku in skus.itertuples(index=False):
        yearly = 1.0 + sku.amplitude * np.sin(2 * np.pi * (start_doy + d - sku.phase_days) / 365.25)
        trend = np.maximum(0.2, 1.0 + sku.growth * d / 364.0)
        promo_weeks = rng.random(spec.weeks) < spec.promotions_per_year / 52.0
        lift = np.where(promo_weeks, rng.uniform(1.6, 2.4, spec.weeks), 1.0)
        lift[1:] = np.where(promo_weeks[:-1] & ~promo_weeks[1:], 0.85, lift[1:])  # pull-forward dip
        daily_lift = np.repeat(lift, 7)
        rate = sku.base / 7.0 * np.outer(region_share, trend * yearly * weekday * daily_lift)
        y = _draw(sku.pattern, rate, rng)
        frames.append(
            pd.DataFrame(
                {
                    "sku": sku.sku,
                    "region": np.repeat(regions, days),
                    "day": np.tile(pd.date_range(spec.start, periods=days, freq="D").values, spec.regions),
                    "y": y.ravel(),
                    "pattern": sku.pattern,
                    "promo": np.tile(np.repeat(promo_weeks, 7), spec.regions),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _draw(pattern: str, rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts around ``rate`` (regions × days) for one SKU's demand pattern."""
    if pattern in ("smooth", "erratic"):
        # negative binomial as a gamma-Poisson mixture; shape k: smaller is more dispersed
        k = 8.0 if pattern == "smooth" else 0.6
        return rng.poisson(rng.gamma(k, rate / k))
    # rare order days: the day's probability of an order follows the rate, sizes are drawn per order day
    mean_size = 3.0 if pattern == "intermittent" else 6.0
    probability = np.minimum(0.9, rate / mean_size)
    ordered = rng.random(rate.shape) < probability
    if pattern == "intermittent":
        sizes = 1 + rng.poisson(mean_size - 1, rate.shape)
    else:
        sizes = np.ceil(rng.lognormal(np.log(mean_size) - 0.6, 1.1, rate.shape))
    return np.where(ordered, sizes, 0).astype(np.int64)


def weekly_demand(daily: pd.DataFrame) -> pd.DataFrame:
    """Sum days into Monday-labelled weeks: ``unique_id`` (``"{sku}/{region}"``), ``sku``, ``region``, ``ds``, ``y``."""
    week = daily["day"] - pd.to_timedelta(daily["day"].dt.weekday, unit="D")
    weekly = daily.assign(ds=week).groupby(["sku", "region", "ds"], as_index=False, sort=True)["y"].sum()
    weekly["y"] = weekly["y"].astype(float)
    weekly.insert(0, "unique_id", weekly["sku"] + "/" + weekly["region"])
    return weekly


def weekly_history(spec: HistorySpec = HistorySpec()) -> pd.DataFrame:
    """The generated weekly SKU × region history (``daily_demand`` summed by ``weekly_demand``)."""
    return weekly_demand(daily_demand(spec))


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week (the label of its weekly bucket)."""
    return day - timedelta(days=day.weekday())
