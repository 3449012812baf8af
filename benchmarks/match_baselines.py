"""The named baselines of ``dispatch bench match``, each on a throwaway server loaded with the same fleet.

- PostGIS: ``geography(Point)`` + GiST, one prepared ``ST_DWithin ... ORDER BY <-> LIMIT k`` statement
  with the capacity/vehicle/freshness filters and ``ST_Covers`` on a coverage column;
- Redis, client-side filtering (the issue-3 baseline, kept for continuity and labelled so):
  ``GEOADD``; ``GEOSEARCH ... BYRADIUS ... ASC`` then the attributes of every hit (~140) in one pipeline
  and the same filters in Python. Redis filtering on the server is :mod:`benchmarks.match_redis`.

Both answer the issue-3 question (top 5 by distance); the like-for-like comparison (best by score, one
call per query and batched on both sides) is :mod:`benchmarks.match_likeforlike`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.progress import Progress

from benchmarks.match_workload import MAX_AGE_S, NOW_S, Answer, percentile_us, run_loop, share_equal
from matcher.model import MatchQuery
from matcher.simulation import Fleet

WARM_UP_QUERIES = 50


@dataclass(frozen=True)
class Baseline:
    """A system answering the matching question: its server, how the fleet is loaded, how one query is asked."""

    key: str  # prefix of its JSON keys: <key>_qps, <key>_p50_us, <key>_same_answers
    name: str  # progress label
    load: Callable[[str, Fleet], Any]  # (URL, fleet) -> an open connection holding the fleet
    answerer: Callable[[Any, Fleet], Answer]  # (connection, fleet) -> one query's answer


def measure_baseline(
    baseline: Baseline,
    url: str,
    fleet: Fleet,
    queries: Sequence[MatchQuery],
    ours_answers: Sequence[list[str]],
    progress: Progress,
) -> dict[str, Any]:
    """Load the fleet into the server at ``url``, warm up, answer every query one after the other; qps, p50
    and agreement with ours."""
    task = progress.add_task(f"{baseline.name}: loading", total=None)
    connection = baseline.load(url, fleet)
    progress.remove_task(task)
    answer = baseline.answerer(connection, fleet)
    for query in queries[:WARM_UP_QUERIES]:
        answer(query)
    answers, times, wall = run_loop(baseline.name, queries, answer, progress)
    connection.close()
    return {
        f"{baseline.key}_qps": round(len(queries) / wall),
        f"{baseline.key}_p50_us": round(percentile_us(times, 50), 1),
        f"{baseline.key}_same_answers": share_equal(answers, ours_answers),
    }


# ------------------------------------------------------------------------------------------ PostGIS
def _postgis_load(url: str, fleet: Fleet) -> Any:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS bench_carriers")
    conn.execute(
        "CREATE TABLE bench_carriers (id text PRIMARY KEY, lat double precision, lng double precision, "
        "geog geography(Point, 4326), ts double precision, active boolean, capacity_kg double precision, "
        "capacity_m3 double precision, vehicle text, coverage geometry(Geometry, 4326))"
    )
    wkt = {id(poly): poly.wkt for poly in fleet.coverages}
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY bench_carriers (id, lat, lng, ts, active, capacity_kg, capacity_m3, vehicle, coverage) FROM STDIN"
        ) as copy,
    ):
        for p, lat, lng, ts in zip(
            fleet.profiles, fleet.lats.tolist(), fleet.lngs.tolist(), fleet.ts_s.tolist(), strict=True
        ):
            cover = None if p.coverage is None else "SRID=4326;" + wkt[id(p.coverage)]
            copy.write_row((p.carrier_id, lat, lng, ts, p.active, p.capacity_kg, p.capacity_m3, p.vehicle_type, cover))
    conn.execute("UPDATE bench_carriers SET geog = ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography")
    conn.execute("CREATE INDEX bench_carriers_geog ON bench_carriers USING gist (geog)")
    conn.execute("VACUUM ANALYZE bench_carriers")
    return conn


POSTGIS_SQL = """
SELECT id FROM bench_carriers
WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography, %(radius)s, false)
  AND active AND ts >= %(cutoff)s AND capacity_kg >= %(kg)s AND capacity_m3 >= %(m3)s
  AND (%(vehicle)s::text IS NULL OR vehicle = %(vehicle)s::text)
  AND (coverage IS NULL OR ST_Covers(coverage, ST_SetSRID(ST_MakePoint(%(dlng)s, %(dlat)s), 4326)))
ORDER BY geog <-> ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography
LIMIT %(limit)s
"""


def _postgis_answerer(conn: Any, fleet: Fleet) -> Answer:
    cur = conn.cursor()

    def answer(q: MatchQuery) -> list[str]:
        cur.execute(
            POSTGIS_SQL,
            {
                "lng": q.pickup_lng,
                "lat": q.pickup_lat,
                "radius": q.radius_m,
                "cutoff": NOW_S - MAX_AGE_S,
                "kg": q.weight_kg,
                "m3": q.volume_m3,
                "vehicle": q.vehicle_type,
                "dlng": q.dropoff_lng,
                "dlat": q.dropoff_lat,
                "limit": q.limit,
            },
            prepare=True,
        )
        return [row[0] for row in cur.fetchall()]

    return answer


POSTGIS = Baseline("postgis", "PostGIS", _postgis_load, _postgis_answerer)


# -------------------------------------------------------------------------------------------- Redis
def _redis_load(url: str, fleet: Fleet) -> Any:
    import redis

    client = redis.Redis.from_url(url)
    cover_index = {id(poly): i for i, poly in enumerate(fleet.coverages)}
    pipe = client.pipeline(transaction=False)
    for n, (p, lat, lng, ts) in enumerate(
        zip(fleet.profiles, fleet.lats.tolist(), fleet.lngs.tolist(), fleet.ts_s.tolist(), strict=True)
    ):
        pipe.geoadd("carriers:geo", (lng, lat, p.carrier_id))
        cover = -1 if p.coverage is None else cover_index[id(p.coverage)]
        pipe.hset(
            f"carrier:{p.carrier_id}",
            mapping={
                "ts": ts,
                "active": int(p.active),
                "kg": p.capacity_kg,
                "m3": p.capacity_m3,
                "vehicle": p.vehicle_type,
                "cover": cover,
            },
        )
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    return client


def _redis_answerer(client: Any, fleet: Fleet) -> Answer:
    from shapely import prepare
    from shapely.geometry import Point

    for poly in fleet.coverages:
        prepare(poly)
    cutoff = NOW_S - MAX_AGE_S

    def answer(q: MatchQuery) -> list[str]:
        hits = client.geosearch(
            "carriers:geo", longitude=q.pickup_lng, latitude=q.pickup_lat, radius=q.radius_m, unit="m", sort="ASC"
        )
        if not hits:
            return []
        pipe = client.pipeline(transaction=False)
        for member in hits:
            pipe.hmget(b"carrier:" + member, "ts", "active", "kg", "m3", "vehicle", "cover")
        rows = pipe.execute()
        dropoff = Point(q.dropoff_lng, q.dropoff_lat)
        covered: dict[int, bool] = {}
        out: list[str] = []
        for member, (ts, active, kg, m3, vehicle, cover) in zip(hits, rows, strict=True):
            if active != b"1" or float(ts) < cutoff or float(kg) < q.weight_kg or float(m3) < q.volume_m3:
                continue
            if q.vehicle_type is not None and vehicle.decode() != q.vehicle_type:
                continue
            group = int(cover)
            if group >= 0:
                if group not in covered:
                    covered[group] = bool(fleet.coverages[group].covers(dropoff))
                if not covered[group]:
                    continue
            out.append(member.decode())
            if len(out) == q.limit:
                break
        return out

    return answer


REDIS = Baseline("redis", "Redis GEO, client-side filtering", _redis_load, _redis_answerer)
