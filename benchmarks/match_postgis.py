"""PostGIS answering the like-for-like question: the best carriers by score, one query or a whole batch.

What a PostGIS engineer would build for "best carrier within 3 km of the pickup whose area holds the
drop-off and whose vehicle fits":

- ``lfl_carriers``: a ``geography(Point)`` column with a GiST index, the filters' columns, the
  carrier's fixed score part (``static_score``, master data) and its ``area_id``;
- ``lfl_areas``: the service areas, normalised (a few polygons shared by many carriers), GiST-indexed;
  a query finds the areas holding its drop-off once (``ST_Covers``), not once per carrier;
- one query: a prepared statement, ``ST_DWithin(geog, pickup, r, false)`` (sphere, index-assisted) and
  ``ORDER BY score, id LIMIT k``;
- a batch: the same in one statement, ``unnest`` of the queries' arrays ``CROSS JOIN LATERAL`` the
  per-query statement, one round trip for the batch.

Distances use the sphere (``use_spheroid = false``), the contract's great circle. The connection runs
with ``jit = off``: the batched statement's estimated cost passes the JIT threshold and compiling it
costs ~50 ms per execution, more than the whole query work of a batch on this box (the usual advice
for short OLTP statements).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.match_reference import Pick
from matcher.model import MatchQuery, ScoreWeights
from matcher.simulation import Fleet


def connect(url: str) -> Any:
    """An autocommit psycopg connection to the throwaway server's URL."""
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute("SET jit = off")
    return conn


def load(conn: Any, fleet: Fleet, weights: ScoreWeights | None = None) -> None:
    """Create and fill ``lfl_areas`` and ``lfl_carriers`` (COPY), index and analyse them."""
    w = weights or ScoreWeights()
    conn.execute("DROP TABLE IF EXISTS lfl_carriers")
    conn.execute("DROP TABLE IF EXISTS lfl_areas")
    conn.execute("CREATE TABLE lfl_areas (id integer PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL)")
    area_of = {id(poly): n for n, poly in enumerate(fleet.coverages)}
    with conn.cursor() as cur:
        for poly, n in ((p, area_of[id(p)]) for p in fleet.coverages):
            cur.execute("INSERT INTO lfl_areas VALUES (%s, ST_GeomFromText(%s, 4326))", (n, poly.wkt))
    conn.execute("CREATE INDEX lfl_areas_geom ON lfl_areas USING gist (geom)")
    conn.execute(
        "CREATE TABLE lfl_carriers (id text PRIMARY KEY, lat double precision, lng double precision, "
        "geog geography(Point, 4326), ts double precision, active boolean, capacity_kg double precision, "
        "capacity_m3 double precision, vehicle text, area_id integer REFERENCES lfl_areas, "
        "base_fare double precision, rate_per_km double precision, static_score double precision)"
    )
    columns = (
        "id, lat, lng, ts, active, capacity_kg, capacity_m3, vehicle, area_id, base_fare, rate_per_km, static_score"
    )
    with conn.cursor() as cur, cur.copy(f"COPY lfl_carriers ({columns}) FROM STDIN") as copy:
        for p, lat, lng, ts in zip(
            fleet.profiles, fleet.lats.tolist(), fleet.lngs.tolist(), fleet.ts_s.tolist(), strict=True
        ):
            static = (
                w.lateness * (1.0 - p.on_time_rate) + w.load_per_job * p.current_load + w.rating_gap * (5.0 - p.rating)
            )
            area = None if p.coverage is None else area_of[id(p.coverage)]
            fit = (p.active, p.capacity_kg, p.capacity_m3, p.vehicle_type, area)
            copy.write_row((p.carrier_id, lat, lng, ts, *fit, p.base_fare, p.rate_per_km, static))
    conn.execute("UPDATE lfl_carriers SET geog = ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography")
    conn.execute("CREATE INDEX lfl_carriers_geog ON lfl_carriers USING gist (geog)")
    conn.execute("VACUUM ANALYZE lfl_carriers")
    conn.execute("VACUUM ANALYZE lfl_areas")


def _best_of(pickup: str, dropoff: str, kg: str, m3: str, vehicle: str) -> str:
    """The per-query statement over ``lfl_carriers``, given the SQL of the query's own values."""
    trip_km = f"(ST_Distance({pickup}, {dropoff}::geography, false) / 1000.0)"
    return f"""
    SELECT c.id, ST_Distance(c.geog, {pickup}, false) AS dist,
           %(w_dist)s * ST_Distance(c.geog, {pickup}, false)
           + %(w_price)s * (c.base_fare + c.rate_per_km * {trip_km}) + c.static_score AS score
    FROM lfl_carriers c
    WHERE ST_DWithin(c.geog, {pickup}, %(radius)s, false)
      AND c.active AND c.ts >= %(cutoff)s AND c.capacity_kg >= {kg} AND c.capacity_m3 >= {m3}
      AND ({vehicle} IS NULL OR c.vehicle = {vehicle})
      AND (c.area_id IS NULL OR c.area_id IN (SELECT a.id FROM lfl_areas a WHERE ST_Covers(a.geom, {dropoff})))
    ORDER BY score, c.id
    LIMIT %(top)s"""


#: One query, one round trip (prepared): scalar parameters.
SINGLE_SQL = _best_of(
    "ST_SetSRID(ST_MakePoint(%(plng)s, %(plat)s), 4326)::geography",
    "ST_SetSRID(ST_MakePoint(%(dlng)s, %(dlat)s), 4326)",
    "%(kg)s::float8",
    "%(m3)s::float8",
    "%(vehicle)s::text",
)

#: A whole batch in one statement: the queries as arrays, ``unnest`` then the per-query statement LATERAL.
BATCH_SQL = f"""
SELECT q.i, best.id, best.dist, best.score
FROM unnest(%(plng)s::float8[], %(plat)s::float8[], %(dlng)s::float8[], %(dlat)s::float8[],
            %(kg)s::float8[], %(m3)s::float8[], %(vehicle)s::text[])
     WITH ORDINALITY AS q(plng, plat, dlng, dlat, kg, m3, vehicle, i)
CROSS JOIN LATERAL (
    SELECT ST_SetSRID(ST_MakePoint(q.plng, q.plat), 4326)::geography AS pickup,
           ST_SetSRID(ST_MakePoint(q.dlng, q.dlat), 4326) AS dropoff
) pt
CROSS JOIN LATERAL ({_best_of("pt.pickup", "pt.dropoff", "q.kg", "q.m3", "q.vehicle")}
) best
ORDER BY q.i, best.score, best.id
"""


def _common(weights: ScoreWeights, cutoff: float, radius_m: float, top: int) -> dict[str, Any]:
    return {
        "w_dist": weights.distance_per_km / 1000.0,
        "w_price": weights.price,
        "cutoff": cutoff,
        "radius": radius_m,
        "top": top,
    }


def ask_one(conn: Any, q: MatchQuery, cutoff: float, weights: ScoreWeights) -> list[Pick]:
    """One query, one round trip (prepared statement)."""
    params = _common(weights, cutoff, q.radius_m, q.limit)
    params.update(
        plng=q.pickup_lng, plat=q.pickup_lat, dlng=q.dropoff_lng, dlat=q.dropoff_lat,
        kg=q.weight_kg, m3=q.volume_m3, vehicle=q.vehicle_type,
    )  # fmt: skip
    rows = conn.execute(SINGLE_SQL, params, prepare=True).fetchall()
    return [Pick(r[0], float(r[1]), float(r[2])) for r in rows]


def ask_batch(conn: Any, qs: Sequence[MatchQuery], cutoff: float, weights: ScoreWeights) -> list[list[Pick]]:
    """A batch in one statement, one round trip; every query must share radius and limit."""
    radius, top = qs[0].radius_m, qs[0].limit
    if any(q.radius_m != radius or q.limit != top for q in qs):
        raise ValueError("a batched statement takes one radius and one limit")
    params = _common(weights, cutoff, radius, top)
    params.update(
        plng=[q.pickup_lng for q in qs], plat=[q.pickup_lat for q in qs],
        dlng=[q.dropoff_lng for q in qs], dlat=[q.dropoff_lat for q in qs],
        kg=[q.weight_kg for q in qs], m3=[q.volume_m3 for q in qs], vehicle=[q.vehicle_type for q in qs],
    )  # fmt: skip
    out: list[list[Pick]] = [[] for _ in qs]
    for i, cid, dist, score in conn.execute(BATCH_SQL, params, prepare=True).fetchall():
        out[int(i) - 1].append(Pick(cid, float(dist), float(score)))
    return out
