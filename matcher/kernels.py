"""Compiled (numba) inner loops of :class:`matcher.index.CarrierIndex`: one call answers one query.

Layout read by the kernels
    ``hot``: the index's row-major float64 matrix, one 128-byte row per carrier (``hot[row, column]``,
    columns as in :mod:`matcher.layout`): the filter and distance columns share one cache line.
    CSR buckets: ``csr_data`` (one entry per (carrier, key): the carrier's columns and its row in column
    ``ROW``, grouped by key; a key is an H3 cell, or ``cell ^ vehicle_code``), and an open-addressing
    hash table of the keys (rows of (bucket key, start, end, 0)), which :func:`disk_spans` reads once
    per (pickup cell, radius, vehicle code) into the span ``pool`` (a covering cell's centre and its
    bucket's run) that the queries walk. Rows whose cell or vehicle changed since the CSR was built have
    their entries hidden (fix time ``-inf``) and are listed in ``delta``, which every query scans
    linearly (bounded in size; the index rebuilds the CSR when it grows).

Exactness
    Eligibility and ranking must equal the brute-force oracle, which uses NumPy's ``arcsin`` (SIMD, it can
    differ from libm's ``asin`` by an ulp). The kernels therefore compute the haversine term ``a`` with
    exactly NumPy's sequence of IEEE operations (``sin`` agrees; no FMA contraction without fastmath) and
    only an *approximate* distance from it (the buffers keep ``sqrt(a)``, correctly rounded as NumPy's).
    A candidate within ``EPS_M`` of the radius is "borderline";
    the selection keeps every candidate whose approximate key is within a tolerance of the k-th certain
    key, sorts them, and flags the query when a borderline candidate or a near-tie was kept. The caller
    then finishes with NumPy's ``arcsin`` on the few selected candidates (exact distances and scores), and
    for flagged queries re-checks the radius and re-sorts by (exact key, carrier id).

Typed boundary
    The entry points take their arrays and scalars positionally (what numba dispatches fastest). Python
    calls the typed wrappers at the end of this module (:func:`match_one`, :func:`run_batch`,
    :func:`disk_spans`, :func:`build_table`), which take the named structures of
    :mod:`matcher.kernel_types` and unpack them into the compiled functions' parameters; the parameter
    names equal the structures' fields, which is checked at import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

from geo.distance import EARTH_RADIUS_M
from geo.h3_radius import CellDisk
from matcher.kernel_types import (
    BatchAnswers,
    BatchQueries,
    CsrBuckets,
    FloatArray,
    HotColumns,
    IntArray,
    OneQuery,
    Pickup,
    QueryOutputs,
    SpanPool,
)
from matcher.layout import (
    BASE,
    COSPHI,
    COVG,
    CSR_COLS,
    HOT_STRIDE,
    KG,
    LMB,
    M3,
    PHI,
    RATE,
    ROW,
    S_COS,
    S_END,
    S_LMB,
    S_PHI,
    S_START,
    SPAN_COLS,
    STATIC,
    T_END,
    T_KEY,
    T_START,
    TABLE_COLS,
    TS_EFF,
)

# Tolerance between libm's and NumPy's asin-based distances (their difference is a few ulp, < 1e-7 m).
EPS_M = 1e-6

# Flag bits returned per query.
FLAG_EXACT = 1  # borderline radius or near-tie kept: re-check with exact values


@njit(cache=True, nogil=True)
def _half_chord(phi1: float, lmb1: float, cos1: float, phi: float, lmb: float, cosp: float) -> float:
    s1 = math.sin((phi - phi1) * 0.5)
    s2 = math.sin((lmb - lmb1) * 0.5)
    a = s1 * s1 + cos1 * cosp * (s2 * s2)
    if a > 1.0:
        a = 1.0
    return a


# Half-angle differences below this (radians, ~64 km) take the polynomial path of :func:`_eval`.
FAST_HALF_ANGLE = 0.005


@njit(cache=True, nogil=True)
def _asin_approx(x: float) -> float:
    """``asin(x)`` for the selection keys: a Taylor polynomial for small ``x`` (relative error < 1e-16 for
    x < 0.01, i.e. far below :data:`EPS_M` at any distance that takes it), libm's otherwise."""
    if x < 0.01:
        x2 = x * x
        return x * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0 + x2 * (35.0 / 1152.0)))))
    return math.asin(x)


@njit(cache=True, nogil=True)
def _half_chord_lower(phi1: float, lmb1: float, cos1: float, phi: float, lmb: float, cosp: float) -> float:
    """A lower bound of :func:`_half_chord` without trigonometry (sin x >= x - x^3/6 for x >= 0)."""
    x = abs(phi - phi1) * 0.5
    y = abs(lmb - lmb1) * 0.5
    if y > 1.5:  # the bound needs y <= pi/2 (longitudes across the antimeridian): no bound
        return 0.0
    sx = x * (1.0 - x * x * (1.0 / 6.0))
    sy = y * (1.0 - y * y * (1.0 / 6.0))
    return sx * sx + cos1 * cosp * (sy * sy)


@njit(cache=True, nogil=True)
def _a_limit(distance_m: float) -> float:
    """A haversine term above which a point is certainly farther than ``distance_m`` (1 mm of margin)."""
    half = (distance_m + 1e-3) / (2.0 * EARTH_RADIUS_M)
    if half >= 1.5:
        return 2.0  # every point qualifies
    s = math.sin(half)
    return s * s * (1.0 + 1e-9)


@njit(cache=True, nogil=True)
def _eval(phi, lmb, cosp, qphi, qlmb, qcos, radius, a_hi, by_dist, wd1000, p, s):  # type: ignore[no-untyped-def]
    """Distance test and ranking key of one carrier (scalars only: no array reference counting per
    carrier); answers (sqrt of the approximate haversine term, key), the first -1.0 when it is too far."""
    hx = (phi - qphi) * 0.5
    hy = (lmb - qlmb) * 0.5
    if abs(hx) < FAST_HALF_ANGLE and abs(hy) < FAST_HALF_ANGLE:
        # Near: sin by its Taylor polynomial (x - x^3/6 + x^5/120, error < x^7/5040: ~1e-16 relative).
        # This approximate term only filters and ranks within EPS_M; _select recomputes the exact term
        # (libm's sin, NumPy's bits) of the few candidates it keeps.
        x2 = hx * hx
        y2 = hy * hy
        sx = hx * (1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0)))
        sy = hy * (1.0 - y2 * (1.0 / 6.0) * (1.0 - y2 * (1.0 / 20.0)))
        a = sx * sx + qcos * cosp * (sy * sy)
        if a > a_hi:
            return -1.0, 0.0
    else:
        # Cheap bound before the trigonometry, then the haversine term against a margin above the radius's.
        if _half_chord_lower(qphi, qlmb, qcos, phi, lmb, cosp) > a_hi:
            return -1.0, 0.0
        a = _half_chord(qphi, qlmb, qcos, phi, lmb, cosp)
        if a > a_hi:
            return -1.0, 0.0
    sq = math.sqrt(a)
    d = 2.0 * EARTH_RADIUS_M * _asin_approx(sq)
    if d > radius + EPS_M:
        return -1.0, 0.0
    return sq, (d if by_dist else wd1000 * d + p + s)


_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _shift_of(table):  # type: ignore[no-untyped-def]
    bits = 0
    while (1 << bits) < table.shape[0]:
        bits += 1
    return np.uint64(64 - bits)


@njit(cache=True, nogil=True)
def _build_table(keys, starts):  # type: ignore[no-untyped-def]
    """Open-addressing hash table of the CSR's buckets, rows of (key, start, end, 0): a key is never 0
    (H3 ids have the mode bits set); load factor <= 1/2. One 32-byte row answers a lookup (one cache
    miss instead of one for the table and one for the offsets)."""
    size = 8
    while size < 2 * len(keys):
        size *= 2
    table = np.zeros((size, TABLE_COLS), dtype=np.int64)
    shift = _shift_of(table)
    mask = np.int64(size - 1)
    for i in range(len(keys)):
        key = keys[i]
        h = np.int64((np.uint64(key) * _HASH_MUL) >> shift)
        while table[h, T_KEY] != 0:
            h = (h + 1) & mask
        table[h, T_KEY] = key
        table[h, T_START] = starts[i]
        table[h, T_END] = starts[i + 1]
    return table


@njit(cache=True, nogil=True)
def _gather(
    pool,
    j0,
    j1,
    slack_m,
    csr_data,
    delta,
    n_delta,
    cell,
    vcode,
    scan_all,
    hot,
    qphi,
    qlmb,
    qcos,
    radius,
    cutoff,
    kg,
    m3,
    code,
    by_dist,
    wd1000,
    price,
    trip_km,
    ok,
    use_ok,
    out_rows,
    out_a,
    out_key,
    out_p,
    out_s,
    base,
    cap,
):  # type: ignore[no-untyped-def]
    """Survivors (filters + radius, within tolerance) into the buffers from ``base``; answers the end
    position, or -1 when more than ``cap`` slots would be needed."""
    n = base
    limit = base + cap
    a_hi = _a_limit(radius)
    a_reach = _a_limit(radius + slack_m)
    for j in range(j0, j0 if scan_all else j1):
        # cells_near: the cell can hold a point within radius only if its centre is within radius + slack
        # (the trig-free lower bound is nearly tight at these distances and keeps a superset).
        if _half_chord_lower(qphi, qlmb, qcos, pool[j, S_PHI], pool[j, S_LMB], pool[j, S_COS]) > a_reach:
            continue
        for t in range(int(pool[j, S_START]), int(pool[j, S_END])):
            # A stale entry (its carrier changed cell or vehicle since the build) has TS_EFF = -inf.
            if csr_data[t, TS_EFF] < cutoff or csr_data[t, KG] < kg or csr_data[t, M3] < m3:
                continue
            if n >= limit:
                return -1
            if use_ok:
                g = int(csr_data[t, COVG])
                if g >= 0 and not ok[g + 1]:
                    continue
            p = price * (csr_data[t, BASE] + csr_data[t, RATE] * trip_km)
            s = csr_data[t, STATIC]
            sq, key = _eval(
                csr_data[t, PHI], csr_data[t, LMB], csr_data[t, COSPHI], qphi, qlmb, qcos, radius, a_hi, by_dist,
                wd1000, p, s,
            )  # fmt: skip
            if sq < 0.0:
                continue
            out_rows[n] = t  # an entry of csr_data (see _source)
            out_a[n] = sq
            out_p[n] = p
            out_s[n] = s
            out_key[n] = key
            n += 1
    # Rows read from hot: the delta, or every row when the radius is too large for a disk.
    for t in range(hot.shape[0] if scan_all else n_delta):
        r = t if scan_all else delta[t]
        if cell[r] == 0 or (code != 0 and vcode[r] != code):
            continue
        if n >= limit:
            return -1
        if hot[r, TS_EFF] < cutoff or hot[r, KG] < kg or hot[r, M3] < m3:
            continue
        if use_ok:
            g = int(hot[r, COVG])
            if g >= 0 and not ok[g + 1]:
                continue
        p = price * (hot[r, BASE] + hot[r, RATE] * trip_km)
        s = hot[r, STATIC]
        sq, key = _eval(hot[r, PHI], hot[r, LMB], hot[r, COSPHI], qphi, qlmb, qcos, radius, a_hi, by_dist, wd1000, p, s)
        if sq < 0.0:
            continue
        out_rows[n] = -r - 1  # a row of hot (see _source)
        out_a[n] = sq
        out_p[n] = p
        out_s[n] = s
        out_key[n] = key
        n += 1
    return n


@njit(cache=True, nogil=True)
def _source(csr_data, hot, v, col):  # type: ignore[no-untyped-def]
    """Column ``col`` of a survivor as the gather recorded it: ``v >= 0`` is an entry of ``csr_data`` (read
    while it is still in cache), ``v < 0`` the row ``-v - 1`` of ``hot`` (delta and full scans)."""
    return csr_data[v, col] if v >= 0 else hot[-v - 1, col]


@njit(cache=True, nogil=True)
def _select(
    csr_data,
    hot,
    qphi,
    qlmb,
    qcos,
    radius,
    by_dist,
    wd1000,
    limit,
    out_rows,
    out_a,
    out_key,
    out_p,
    out_s,
    b,
    n,
):  # type: ignore[no-untyped-def]
    """Keep, sorted by approximate key at ``b..``, every survivor of ``b..n`` (the gather already applied
    every filter, coverage included) that can be in the exact top ``limit``; answers (count kept, flags)."""
    m = n - b
    if m == 0:
        return 0, 0
    # k-th smallest key among the candidates certainly within the radius.
    certain = radius - EPS_M
    tmp = np.empty(m)
    c = 0
    for i in range(b, n):
        key = out_key[i]
        d = key if by_dist else 2.0 * EARTH_RADIUS_M * _asin_approx(out_a[i])
        if d <= certain:
            tmp[c] = key
            c += 1
    threshold = np.inf
    eps_k = EPS_M if by_dist else EPS_M * (1.0 + abs(wd1000))
    if c >= limit:
        kth = np.partition(tmp[:c], limit - 1)[limit - 1]
        threshold = kth + eps_k + 1e-12 * abs(kth)
    # Compact the kept ones, then sort them by key (insertion sort: usually a handful).
    k = b
    flags = 0
    for i in range(b, n):
        if out_key[i] <= threshold:
            out_rows[k] = out_rows[i]
            out_a[k] = out_a[i]
            out_key[k] = out_key[i]
            out_p[k] = out_p[i]
            out_s[k] = out_s[i]
            k += 1
    m = k - b
    if m > 48:
        order = np.argsort(out_key[b:k], kind="mergesort") + b
        out_rows[b:k] = out_rows[order]
        out_a[b:k] = out_a[order]
        out_key[b:k] = out_key[order]
        out_p[b:k] = out_p[order]
        out_s[b:k] = out_s[order]
    else:
        for i in range(b + 1, k):
            rr, aa, kk, pp, ss = out_rows[i], out_a[i], out_key[i], out_p[i], out_s[i]
            j = i - 1
            while j >= b and out_key[j] > kk:
                out_rows[j + 1] = out_rows[j]
                out_a[j + 1] = out_a[j]
                out_key[j + 1] = out_key[j]
                out_p[j + 1] = out_p[j]
                out_s[j + 1] = out_s[j]
                j -= 1
            out_rows[j + 1] = rr
            out_a[j + 1] = aa
            out_key[j + 1] = kk
            out_p[j + 1] = pp
            out_s[j + 1] = ss
    if m > limit:
        flags |= FLAG_EXACT
    for i in range(b, k):
        key = out_key[i]
        if i > b and key - out_key[i - 1] <= eps_k + 1e-12 * abs(key):
            flags |= FLAG_EXACT
        d = key if by_dist else 2.0 * EARTH_RADIUS_M * _asin_approx(out_a[i])
        if d > certain:
            flags |= FLAG_EXACT
    # The rows and exact haversine terms (sqrt, NumPy's bits: the caller applies NumPy's arcsin, as the
    # oracle does) of the kept candidates only.
    for i in range(b, k):
        v = out_rows[i]
        phi = _source(csr_data, hot, v, PHI)
        lmb = _source(csr_data, hot, v, LMB)
        cosp = _source(csr_data, hot, v, COSPHI)
        out_a[i] = math.sqrt(_half_chord(qphi, qlmb, qcos, phi, lmb, cosp))
        out_rows[i] = int(csr_data[v, ROW]) if v >= 0 else -v - 1
    return m, flags


# fmt: off
@njit(cache=True, nogil=True)
def _match_one(
    pool, slack_m,  # SpanPool
    data, delta, n_delta,  # CsrBuckets
    hot, cell, vcode,  # HotColumns
    scan_all, j0, j1, phi, lmb, cos_phi,  # Pickup
    radius_m, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit, ok, use_ok, finish,  # OneQuery
    rows, a, key, p, s,  # QueryOutputs
):  # type: ignore[no-untyped-def]
    """One query: gather + select. ``pool[j0:j1]`` are the query's covering cells with their bucket runs
    (see :func:`disk_spans`); ``ok`` the coverage verdicts of the drop-off per group (read when ``use_ok``:
    some carrier has a coverage); with ``finish`` (see :func:`exact_asin`) the kept candidates' ``a``
    become distances and ``s`` scores. Answers (n, m, flags): n = -1 when the buffers are too small."""
    n = _gather(
        pool, j0, j1, slack_m, data, delta, n_delta, cell, vcode, scan_all, hot, phi, lmb, cos_phi, radius_m,
        cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, ok, use_ok, rows, a, key, p, s, 0, len(rows),
    )
    if n < 0:
        return -1, 0, 0
    m, flags = _select(data, hot, phi, lmb, cos_phi, radius_m, by_dist, wd1000, limit, rows, a, key, p, s, 0, n)
    if finish:
        for i in range(m):
            d = 2.0 * EARTH_RADIUS_M * math.asin(a[i])  # the caller's TWO_R * np.arcsin(a), same bits
            a[i] = d
            s[i] = wd1000 * d + p[i] + s[i]
    return n, m, flags
# fmt: on


@njit(cache=True, nogil=True)
def _disk_spans(d_cells, d_phi, d_lmb, d_cos, table, code, pool, at):  # type: ignore[no-untyped-def]
    """Write the covering cells (``d_*``) that have a bucket for ``code`` into ``pool`` from row ``at``, one
    row per cell: centre, and the bucket's run of CSR entries. Answers the end row. What a query would
    otherwise look up in the hash table cell by cell (a cache miss each) is then one sequential read."""
    shift = _shift_of(table)
    mask = np.int64(table.shape[0] - 1)
    k = at
    for j in range(len(d_cells)):
        key = d_cells[j] ^ code
        h = np.int64((np.uint64(key) * _HASH_MUL) >> shift)
        while True:  # linear probing
            found = table[h, T_KEY]
            if found == key or found == 0:
                break
            h = (h + 1) & mask
        if found == 0:
            continue
        pool[k, S_PHI] = d_phi[j]
        pool[k, S_LMB] = d_lmb[j]
        pool[k, S_COS] = d_cos[j]
        pool[k, S_START] = table[h, T_START]
        pool[k, S_END] = table[h, T_END]
        k += 1
    return k


@functools.cache
def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel with tiny inputs, so a first query is fast
    (once per process)."""
    f8 = np.zeros(1)
    i8 = np.zeros(1, dtype=np.int64)
    rows = np.zeros((1, HOT_STRIDE))
    rows[:, TS_EFF] = -np.inf
    spans = SpanPool(np.zeros((4, SPAN_COLS)), 1.0)
    csr = CsrBuckets(rows[:, :CSR_COLS].copy(), i8, 0)
    hot = HotColumns(rows, i8, i8)
    ok = np.ones(1, dtype=np.bool_)
    table = build_table(np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
    disk_spans(CellDisk(cells=i8, phi=f8, lmb=f8, cos_phi=f8, slack_m=1.0), table, 0, spans.pool, 0)
    pickup = Pickup(False, 0, 0, 0.0, 0.0, 1.0)
    query = OneQuery(1.0, 0.0, 0.0, 0.0, 0, False, 0.001, 0.1, 1.0, 5, ok, False, True)
    match_one(spans, csr, hot, pickup, query, QueryOutputs.of_size(4))
    flag = np.zeros(1, dtype=np.bool_)
    trip = np.zeros(1)
    trip_km_many(f8, f8, f8, f8, trip)
    slot = np.array([0, 13], dtype=np.int64)
    batch = BatchQueries(
        i8, i8, i8, f8, f8, f8 + 1.0, 0.0, f8, f8, i8, flag, 0.001, 0.1, trip, i8 + 5,
        np.ones((1, 1), dtype=np.bool_), flag, slot,
    )  # fmt: skip
    for threads in (1, 2):
        run_batch(spans, csr, hot, batch, threads=threads, chunks=1)


@njit(cache=True, nogil=True)
def half_chords(phi1, lmb1, cos1, phis, lmbs, coss):  # type: ignore[no-untyped-def]
    """The haversine term ``a`` of many points, as the kernels compute it (for the self-check)."""
    out = np.empty(len(phis))
    for i in range(len(phis)):
        out[i] = _half_chord(phi1, lmb1, cos1, phis[i], lmbs[i], coss[i])
    return out


@njit(cache=True, nogil=True)
def _asin_many(x):  # type: ignore[no-untyped-def]
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = math.asin(x[i])
    return out


@functools.cache
def exact_asin() -> bool:
    """Whether compiled ``asin`` equals NumPy's ``arcsin`` bit for bit here (NumPy may use SIMD code that
    differs by an ulp, e.g. with AVX-512). If it does, a single query's distances and scores are finished
    in the kernel instead of with NumPy in Python."""
    rng = np.random.default_rng(54321)
    x = np.concatenate([rng.uniform(0.0, 1.0, 100_000), rng.uniform(0.0, 1e-3, 100_000), [0.0, 1.0]])
    return bool(np.array_equal(np.arcsin(x), _asin_many(x)))


@functools.cache
def exact_a() -> bool:
    """Whether the compiled haversine term equals NumPy's bit for bit on this machine (checked once on a
    spread of points). If not, the index recomputes the distances of selected candidates with NumPy."""
    rng = np.random.default_rng(12345)
    lat = np.concatenate([rng.uniform(-89.9, 89.9, 20_000), 30.0 + rng.uniform(-0.2, 0.2, 20_000)])
    lng = np.concatenate([rng.uniform(-180.0, 180.0, 20_000), 120.0 + rng.uniform(-0.2, 0.2, 20_000)])
    phis = np.radians(lat)
    lmbs = np.radians(lng)
    coss = np.cos(phis)
    same = True
    for qlat, qlng in ((30.05, 120.07), (-33.9, 151.2), (71.0, -179.9)):
        phi1 = math.radians(qlat)
        lmb1 = math.radians(qlng)
        cos1 = math.cos(phi1)
        sdphi = np.sin((phis - phi1) * 0.5)
        sdlmb = np.sin((lmbs - lmb1) * 0.5)
        ref = sdphi * sdphi + cos1 * coss * (sdlmb * sdlmb)
        np.minimum(ref, 1.0, out=ref)
        same = same and bool(np.array_equal(ref, half_chords(phi1, lmb1, cos1, phis, lmbs, coss)))
    return same


# ------------------------------------------------------------------------------------------- batches
FLAG_OVERFLOW = 4  # more survivors kept than the query's output slots: the caller answers it alone

_LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_pow = _LIBM.pow
_pow.restype = ctypes.c_double
_pow.argtypes = [ctypes.c_double, ctypes.c_double]


@njit(nogil=True)  # not cached: it calls libm's pow through ctypes
def trip_km_many(lat1, lng1, lat2, lng2, out):  # type: ignore[no-untyped-def]
    """``geo.distance.haversine_m(...) / 1000`` for many pairs, bit for bit: the same libm calls in the same
    order (Python's ``x ** 2`` is libm's ``pow``, which can differ from ``x * x`` by an ulp)."""
    for i in range(len(lat1)):
        phi1 = math.radians(lat1[i])
        phi2 = math.radians(lat2[i])
        dphi = phi2 - phi1
        dlmb = math.radians(lng2[i]) - math.radians(lng1[i])
        a = _pow(math.sin(dphi * 0.5), 2.0) + math.cos(phi1) * math.cos(phi2) * _pow(math.sin(dlmb * 0.5), 2.0)
        out[i] = 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a))) / 1000.0


# fmt: off
@njit(cache=True, nogil=True)
def _batch_chunk(
    i0, i1, order, pool, j0s, j1s, slack_m, csr_data, delta, n_delta, cell, vcode, hot,
    lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit,
    ok_table, use_ok, slot, o_rows, o_a, o_p, o_s, kept, flags,
):  # type: ignore[no-untyped-def]
    """Queries ``order[i0:i1]``: gather + select each into its output slots ``slot[q]..slot[q + 1]``."""
    size = max(64, min(len(csr_data) + n_delta, 4096))
    b_rows = np.empty(size, dtype=np.int64)
    b_a = np.empty(size)
    b_key = np.empty(size)
    b_p = np.empty(size)
    b_s = np.empty(size)
    for i in range(i0, i1):
        q = order[i]
        if code[q] < 0:
            continue
        phi = math.radians(lat[q])
        while True:
            n = _gather(
                pool, j0s[q], j1s[q], slack_m, csr_data, delta, n_delta, cell, vcode, False, hot,
                phi, math.radians(lng[q]), math.cos(phi), radius[q], cutoff, kg[q], m3[q], code[q], by_dist[q],
                wd1000, price, trip_km[q], ok_table[q], use_ok[q], b_rows, b_a, b_key, b_p, b_s, 0, len(b_rows),
            )
            if n >= 0:
                break
            size *= 4
            b_rows = np.empty(size, dtype=np.int64)
            b_a = np.empty(size)
            b_key = np.empty(size)
            b_p = np.empty(size)
            b_s = np.empty(size)
        m, f = _select(
            csr_data, hot, phi, math.radians(lng[q]), math.cos(phi), radius[q], by_dist[q], wd1000, limit[q],
            b_rows, b_a, b_key, b_p, b_s, 0, n,
        )
        base = slot[q]
        if m > slot[q + 1] - base:
            flags[q] = f | FLAG_OVERFLOW
            continue
        for j in range(m):
            o_rows[base + j] = b_rows[j]
            o_a[base + j] = b_a[j]
            o_p[base + j] = b_p[j]
            o_s[base + j] = b_s[j]
        kept[q] = m
        flags[q] = f


@njit(cache=True, nogil=True)
def _compact(slot, o_rows, o_a, o_p, o_s, kept):  # type: ignore[no-untyped-def]
    """Per-query slots -> one contiguous run per query (in query order); answers the offsets too."""
    n_q = len(kept)
    offsets = np.zeros(n_q + 1, dtype=np.int64)
    for q in range(n_q):
        offsets[q + 1] = offsets[q] + kept[q]
    total = offsets[n_q]
    r = np.empty(total, dtype=np.int64)
    a = np.empty(total)
    p = np.empty(total)
    s = np.empty(total)
    for q in range(n_q):
        src = slot[q]
        dst = offsets[q]
        for j in range(kept[q]):
            r[dst + j] = o_rows[src + j]
            a[dst + j] = o_a[src + j]
            p[dst + j] = o_p[src + j]
            s[dst + j] = o_s[src + j]
    return offsets, r, a, p, s


@njit(cache=True, nogil=True)
def _batch_out(n_q, total):  # type: ignore[no-untyped-def]
    return (
        np.empty(total, dtype=np.int64),
        np.empty(total),
        np.empty(total),
        np.empty(total),
        np.zeros(n_q, dtype=np.int64),
        np.zeros(n_q, dtype=np.int64),
    )


@njit(cache=True, nogil=True)
def _batch_serial(
    n_chunks,
    pool, slack_m,  # SpanPool
    data, delta, n_delta,  # CsrBuckets
    hot, cell, vcode,  # HotColumns
    order, j0s, j1s, lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit,
    ok_table, use_ok, slot,  # BatchQueries
):  # type: ignore[no-untyped-def]
    """Every query of a batch, in ``order``, on this thread; answers (offsets, rows, sqrt of haversine
    terms, price terms, static terms) with one contiguous run per query in query order, and flags."""
    n_q = len(lat)
    o_rows, o_a, o_p, o_s, kept, flags = _batch_out(n_q, slot[n_q])
    _batch_chunk(
        0, n_q, order, pool, j0s, j1s, slack_m, data, delta, n_delta, cell, vcode, hot,
        lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit,
        ok_table, use_ok, slot, o_rows, o_a, o_p, o_s, kept, flags,
    )
    offsets, r, a, p, s = _compact(slot, o_rows, o_a, o_p, o_s, kept)
    return offsets, r, a, p, s, flags


@njit(cache=True, nogil=True, parallel=True)
def _batch_parallel(
    n_chunks,
    pool, slack_m,  # SpanPool
    data, delta, n_delta,  # CsrBuckets
    hot, cell, vcode,  # HotColumns
    order, j0s, j1s, lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit,
    ok_table, use_ok, slot,  # BatchQueries
):  # type: ignore[no-untyped-def]
    """:func:`_batch_serial` with ``order`` split into ``n_chunks`` runs spread over numba's threads."""
    n_q = len(lat)
    o_rows, o_a, o_p, o_s, kept, flags = _batch_out(n_q, slot[n_q])
    for c in prange(n_chunks):
        _batch_chunk(
            c * n_q // n_chunks, (c + 1) * n_q // n_chunks, order, pool, j0s, j1s, slack_m,
            data, delta, n_delta, cell, vcode, hot,
            lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, price, trip_km, limit,
            ok_table, use_ok, slot, o_rows, o_a, o_p, o_s, kept, flags,
        )
    offsets, r, a, p, s = _compact(slot, o_rows, o_a, o_p, o_s, kept)
    return offsets, r, a, p, s, flags
# fmt: on


# ---------------------------------------------------------------------------------- typed boundary
def _check_parameters(kernel: Any, *parts: type | str) -> None:
    """The compiled function's parameters, in order, must be the structures' fields (a NamedTuple type)
    and the named scalars (a str): the wrappers unpack the structures positionally."""
    expected = [name for part in parts for name in ((part,) if isinstance(part, str) else part._fields)]  # type: ignore[attr-defined]
    actual = list(inspect.signature(kernel.py_func).parameters)
    if actual != expected:
        raise TypeError(f"{kernel.py_func.__name__} takes {actual}, its typed wrapper passes {expected}")


_check_parameters(_match_one, SpanPool, CsrBuckets, HotColumns, Pickup, OneQuery, QueryOutputs)
for _batch_kernel in (_batch_serial, _batch_parallel):
    _check_parameters(_batch_kernel, "n_chunks", SpanPool, CsrBuckets, HotColumns, BatchQueries)


def match_one(
    spans: SpanPool, csr: CsrBuckets, hot: HotColumns, pickup: Pickup, query: OneQuery, out: QueryOutputs
) -> tuple[int, int, int]:
    """One query (see :func:`_match_one`): its kept candidates in ``out[:m]``, best first by approximate
    key. Answers (n, m, flags); n = -1 when ``out`` is too small (retry with bigger buffers)."""
    answer: tuple[int, int, int] = _match_one(*spans, *csr, *hot, *pickup, *query, *out)
    return answer


def run_batch(
    spans: SpanPool, csr: CsrBuckets, hot: HotColumns, queries: BatchQueries, *, threads: int, chunks: int
) -> BatchAnswers:
    """Every query of a batch in one compiled call: on this thread when ``threads`` is 1, else split into
    ``threads * chunks`` runs over numba's threads."""
    kernel: Callable[..., tuple[Any, ...]] = _batch_parallel if threads > 1 else _batch_serial
    return BatchAnswers(*kernel(threads * chunks, *spans, *csr, *hot, *queries))


def disk_spans(disk: CellDisk, table: IntArray, code: int, pool: FloatArray, at: int) -> int:
    """Write the covering cells of ``disk`` that have a bucket for vehicle ``code`` (0: any) into ``pool``
    from row ``at`` (see :func:`_disk_spans`); answers the end row. ``pool`` must have room for them all."""
    end: int = _disk_spans(disk.cells, disk.phi, disk.lmb, disk.cos_phi, table, code, pool, at)
    return end


def build_table(keys: IntArray, starts: IntArray) -> IntArray:
    """The hash table of the buckets: ``keys`` (unique, non-zero) with runs ``starts[i]..starts[i + 1]``
    (rows of ``layout.TABLE_COLS``; see :func:`_build_table`)."""
    table: IntArray = _build_table(keys, starts)
    return table
