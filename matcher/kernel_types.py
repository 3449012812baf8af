"""The typed boundary of the compiled kernels (:mod:`matcher.kernels`): their arguments as named structures.

The kernels take 30-odd positional arrays and scalars, which is what numba dispatches fastest; Python code
never spells those out. It hands the typed wrappers of :mod:`matcher.kernels` these structures instead,
and the wrappers unpack them, in field order, into the kernels' parameters (whose names equal the fields:
checked when :mod:`matcher.kernels` is imported). The index keeps its structures built and replaces one
only when its arrays change, so a query pays for one small tuple (:class:`OneQuery`) and the unpacking.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class SpanPool(NamedTuple):
    """Covering cells of the pickups seen, each with its bucket's run (rows of ``layout.SPAN_COLS``)."""

    pool: FloatArray
    #: Circumradius bound of a cell: a cell can hold a point within the radius only if its centre is
    #: within radius + slack_m of the pickup.
    slack_m: float


class CsrBuckets(NamedTuple):
    """The buckets' entries in CSR order and the rows changed since they were built."""

    #: One entry per (carrier, bucket): ``layout.CSR_COLS`` columns, grouped by bucket.
    data: FloatArray
    #: Rows whose cell or vehicle changed since the build (their entries hidden): scanned by every query.
    delta: IntArray
    n_delta: int


class HotColumns(NamedTuple):
    """The carriers' rows: what the delta and full scans read."""

    #: Row-major ``(capacity, layout.HOT_STRIDE)`` matrix.
    hot: FloatArray
    #: H3 cell per row (0: no position) and vehicle code per row.
    cell: IntArray
    vcode: IntArray


class Pickup(NamedTuple):
    """What a single query needs of its pickup point (remembered per point, radius and vehicle)."""

    #: The radius needs so many rings that every carrier is scanned instead (no spans then).
    scan_all: bool
    #: Rows ``j0..j1`` of the span pool: the covering cells that have a bucket for the vehicle.
    j0: int
    j1: int
    #: The pickup in radians, and cos of its latitude.
    phi: float
    lmb: float
    cos_phi: float


class OneQuery(NamedTuple):
    """The rest of a single query: filters, ranking and what to answer."""

    radius_m: float
    #: Oldest acceptable fix time (finite).
    cutoff: float
    kg: float
    m3: float
    #: Vehicle code (0: any vehicle).
    code: int
    by_dist: bool
    #: Score weight per metre (``distance_per_km / 1000``) and of the price.
    wd1000: float
    price: float
    trip_km: float
    limit: int
    #: Coverage verdicts of the drop-off per group (index 0: no coverage), read when ``use_ok``.
    ok: BoolArray
    use_ok: bool
    #: Finish distances and scores in the kernel (its asin equals NumPy's here).
    finish: bool


class QueryOutputs(NamedTuple):
    """Scratch buffers of a single query: rows, sqrt of haversine terms (or distances), keys, price terms,
    static terms (or scores); the kernel asks for bigger ones when they are too small."""

    rows: IntArray
    a: FloatArray
    key: FloatArray
    p: FloatArray
    s: FloatArray

    @staticmethod
    def of_size(size: int) -> QueryOutputs:
        """Buffers for ``size`` candidates."""
        return QueryOutputs(
            np.zeros(size, dtype=np.int64), np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)
        )


class BatchQueries(NamedTuple):
    """A batch of queries as columns (one entry per query unless said otherwise)."""

    #: The order to work in (H3 order: neighbouring pickups share buckets in cache).
    order: IntArray
    #: Rows ``j0s[q]..j1s[q]`` of the span pool: query ``q``'s covering cells.
    j0s: IntArray
    j1s: IntArray
    #: Pickups in degrees.
    lat: FloatArray
    lng: FloatArray
    radius: FloatArray
    cutoff: float
    kg: FloatArray
    m3: FloatArray
    #: Vehicle code (0: any, -1: a vehicle no carrier has: no answer).
    code: IntArray
    by_dist: BoolArray
    wd1000: float
    price: float
    trip_km: FloatArray
    limit: IntArray
    #: Coverage verdicts per query and group (column 0: no coverage), read where ``use_ok``.
    ok_table: BoolArray
    use_ok: BoolArray
    #: Output slots of query ``q``: ``slot[q]..slot[q + 1]`` (one more entry than queries).
    slot: IntArray


class BatchAnswers(NamedTuple):
    """What the batch kernel keeps: query ``q`` owns entries ``offsets[q]:offsets[q + 1]`` of the other
    columns, best first by approximate key; ``flags[q]`` has ``FLAG_EXACT`` / ``FLAG_OVERFLOW``."""

    offsets: IntArray
    rows: IntArray
    #: sqrt of the exact haversine terms (NumPy's bits), price terms and static terms.
    a: FloatArray
    p: FloatArray
    s: FloatArray
    flags: IntArray


__all__ = [
    "BatchAnswers",
    "BatchQueries",
    "CsrBuckets",
    "HotColumns",
    "OneQuery",
    "Pickup",
    "QueryOutputs",
    "SpanPool",
]
