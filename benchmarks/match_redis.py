"""Redis answering the like-for-like question on the server: one Lua script per query returns the best carriers.

What a Redis engineer would build so that nothing but the answer crosses the network:

- ``lfl:geo:<vehicle>``: one GEO set per vehicle type (``GEOADD``), so that a query naming a vehicle
  type searches only that type's carriers (a query naming none searches every set);
- ``lfl:attr``: one hash, carrier id -> its attributes packed as little-endian doubles (exact lat/lng,
  fix time, active, capacities, vehicle code, area, fare, rate per km, fixed score part), read for all
  hits with one ``HMGET`` and decoded with the script's ``struct.unpack``;
- ``lfl:areas``: one hash, area id -> its polygon (bounding box, then each ring's lng/lat pairs);
  the drop-off is tested at most once per area and query (bounding box, then even-odd ray casting over
  every ring, so holes count), inside the script;
- the script: ``GEOSEARCH FROMLONLAT ... BYRADIUS`` (each GEO set it is given) a little wider than the
  radius (Redis's geohash rounding and its own Earth radius move points by up to ~1 m at 3 km), then
  for each hit: fix age, active, capacity, vehicle, exact haversine on the contract's sphere, coverage,
  score; keeps the best ``k`` by (score, id) in a small sorted list and returns only them. One
  ``EVALSHA`` round trip per query, or a pipeline of them for a batch.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from benchmarks.match_reference import Pick
from matcher.model import MatchQuery, ScoreWeights
from matcher.simulation import Fleet

GEO_PREFIX = "lfl:geo:"
ATTR_KEY = "lfl:attr"
AREAS_KEY = "lfl:areas"
ATTR_FORMAT = "<ddddddddddd"  # lat, lng, ts, active, kg, m3, vehicle, area, fare, rate, static
#: Radius asked of GEOSEARCH: wider than the query's by Redis's Earth radius (6,372,797.6 m vs the
#: contract's 6,371,008.8 m, +0.03 %) and its 52-bit geohash rounding (< 1 m); the script re-checks.
GEO_SLACK_FACTOR = 1.001
GEO_SLACK_M = 2.0
LOAD_CHUNK = 5_000

BEST_SCRIPT = """
local plng, plat = tonumber(ARGV[1]), tonumber(ARGV[2])
local dlng, dlat = tonumber(ARGV[3]), tonumber(ARGV[4])
local kg, m3, vehicle = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local radius, cutoff, top = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local w_dist, w_price, search_r = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local R, rad = 6371008.8, math.pi / 180.0
local sin, cos, asin, sqrt = math.sin, math.cos, math.asin, math.sqrt
local phi1, lmb1 = plat * rad, plng * rad
local cphi1 = cos(phi1)
local function dist_m(lat, lng)
  local phi, lmb = lat * rad, lng * rad
  local sp, sl = sin((phi - phi1) * 0.5), sin((lmb - lmb1) * 0.5)
  local a = sp * sp + cphi1 * cos(phi) * (sl * sl)
  if a > 1.0 then a = 1.0 end
  return 2.0 * R * asin(sqrt(a))
end
local trip_km = dist_m(dlat, dlng) / 1000.0
local hits = {}
for g = 3, #KEYS do
  local found = redis.call('GEOSEARCH', KEYS[g], 'FROMLONLAT', plng, plat, 'BYRADIUS', search_r, 'm')
  for n = 1, #found do hits[#hits + 1] = found[n] end
end
if #hits == 0 then return {} end
local covered = {}
local function covers(area)
  local v = covered[area]
  if v ~= nil then return v end
  local packed = redis.call('HGET', KEYS[2], area)
  local vals = {}
  for x in string.gmatch(packed, '[^,;]+') do vals[#vals + 1] = tonumber(x) end
  v = false
  if dlng >= vals[1] and dlat >= vals[2] and dlng <= vals[3] and dlat <= vals[4] then
    local inside, i = false, 5
    while i <= #vals do
      local n = vals[i]
      local base = i + 1
      local j = n - 1
      for k = 0, n - 1 do
        local xi, yi = vals[base + 2 * k], vals[base + 2 * k + 1]
        local xj, yj = vals[base + 2 * j], vals[base + 2 * j + 1]
        if ((yi > dlat) ~= (yj > dlat)) and (dlng < (xj - xi) * (dlat - yi) / (yj - yi) + xi) then
          inside = not inside
        end
        j = k
      end
      i = base + 2 * n
    end
    v = inside
  end
  covered[area] = v
  return v
end
local best = {}
local function better(s1, id1, s2, id2)
  if s1 ~= s2 then return s1 < s2 end
  return id1 < id2
end
for start = 1, #hits, 1000 do
  local stop = math.min(start + 999, #hits)
  local rows = redis.call('HMGET', KEYS[1], unpack(hits, start, stop))
  for n = 1, #rows do
    local lat, lng, ts, active, ckg, cm3, veh, area, fare, rate, static = struct.unpack('ARGV_FORMAT', rows[n])
    if active == 1 and ts >= cutoff and ckg >= kg and cm3 >= m3 and (vehicle < 0 or veh == vehicle) then
      local d = dist_m(lat, lng)
      if d <= radius and (area < 0 or covers(area)) then
        local score = w_dist * d + w_price * (fare + rate * trip_km) + static
        local id = hits[start + n - 1]
        local last = best[#best]
        if #best < top or better(score, id, last[1], last[2]) then
          local pos = #best + 1
          while pos > 1 and better(score, id, best[pos - 1][1], best[pos - 1][2]) do
            best[pos] = best[pos - 1]
            pos = pos - 1
          end
          best[pos] = {score, id, d}
          if #best > top then best[#best] = nil end
        end
      end
    end
  end
end
local out = {}
for n = 1, math.min(top, #best) do
  out[#out + 1] = best[n][2]
  out[#out + 1] = string.format('%.17g', best[n][3])
  out[#out + 1] = string.format('%.17g', best[n][1])
end
return out
""".replace("ARGV_FORMAT", ATTR_FORMAT)


def _area_text(poly: Any) -> str:
    """``minx,miny,maxx,maxy;`` then per ring ``n,x1,y1,...`` (closing point dropped)."""
    minx, miny, maxx, maxy = poly.bounds
    parts = [f"{minx!r},{miny!r},{maxx!r},{maxy!r}"]
    for ring in (poly.exterior, *poly.interiors):
        coords = list(ring.coords)[:-1]
        parts.append(",".join([str(len(coords))] + [f"{x!r},{y!r}" for x, y in coords]))
    return ";".join(parts)


class RedisBest:
    """The loaded fleet and the registered script; ``ask_one`` / ``ask_batch`` answer queries."""

    def __init__(self, client: Any, fleet: Fleet, weights: ScoreWeights | None = None) -> None:
        self.client = client
        self.weights = weights or ScoreWeights()
        self.vehicle_code = {v: float(n) for n, v in enumerate(sorted({p.vehicle_type for p in fleet.profiles}))}
        self.geo_keys = {v: f"{GEO_PREFIX}{v}" for v in self.vehicle_code}
        self._load(fleet)
        self.script = client.register_script(BEST_SCRIPT)

    def _load(self, fleet: Fleet) -> None:
        w = self.weights
        area_of = {id(poly): n for n, poly in enumerate(fleet.coverages)}
        self.client.delete(*self.geo_keys.values(), ATTR_KEY, AREAS_KEY)
        self.client.hset(AREAS_KEY, mapping={n: _area_text(poly) for n, poly in enumerate(fleet.coverages)})
        rows = zip(fleet.profiles, fleet.lats.tolist(), fleet.lngs.tolist(), fleet.ts_s.tolist(), strict=True)
        pipe = self.client.pipeline(transaction=False)
        geo: dict[str, list[Any]] = {key: [] for key in self.geo_keys.values()}
        attrs: dict[str, bytes] = {}
        for n, (p, lat, lng, ts) in enumerate(rows):
            static = (
                w.lateness * (1.0 - p.on_time_rate) + w.load_per_job * p.current_load + w.rating_gap * (5.0 - p.rating)
            )
            area = -1.0 if p.coverage is None else float(area_of[id(p.coverage)])
            geo[self.geo_keys[p.vehicle_type]].extend((lng, lat, p.carrier_id))
            attrs[p.carrier_id] = struct.pack(
                ATTR_FORMAT, lat, lng, ts, float(p.active), p.capacity_kg, p.capacity_m3,
                self.vehicle_code[p.vehicle_type], area, p.base_fare, p.rate_per_km, static,
            )  # fmt: skip
            if n % LOAD_CHUNK == LOAD_CHUNK - 1:
                self._send(pipe, geo, attrs)
        self._send(pipe, geo, attrs)
        pipe.execute()

    @staticmethod
    def _send(pipe: Any, geo: dict[str, list[Any]], attrs: dict[str, bytes]) -> None:
        """Queue the collected GEOADDs and attributes on ``pipe`` and empty the collections."""
        for key, members in geo.items():
            if members:
                pipe.geoadd(key, members)
            members.clear()
        if attrs:
            pipe.hset(ATTR_KEY, mapping=attrs)
        attrs.clear()

    def _keys(self, q: MatchQuery) -> list[str]:
        """The attribute and area hashes, then the GEO sets the query searches."""
        if q.vehicle_type is None:
            return [ATTR_KEY, AREAS_KEY, *self.geo_keys.values()]
        key = self.geo_keys.get(q.vehicle_type)
        return [ATTR_KEY, AREAS_KEY] + ([] if key is None else [key])

    def _args(self, q: MatchQuery, cutoff: float) -> list[Any]:
        vehicle = -1.0 if q.vehicle_type is None else self.vehicle_code.get(q.vehicle_type, -2.0)
        w = self.weights
        return [
            repr(q.pickup_lng), repr(q.pickup_lat), repr(q.dropoff_lng), repr(q.dropoff_lat),
            repr(q.weight_kg), repr(q.volume_m3), repr(vehicle), repr(q.radius_m), repr(cutoff), q.limit,
            repr(w.distance_per_km / 1000.0), repr(w.price), repr(q.radius_m * GEO_SLACK_FACTOR + GEO_SLACK_M),
        ]  # fmt: skip

    def ask_one(self, q: MatchQuery, cutoff: float) -> list[Pick]:
        """One query, one round trip (``EVALSHA``)."""
        return _picks(self.script(keys=self._keys(q), args=self._args(q, cutoff)))

    def ask_batch(self, qs: Sequence[MatchQuery], cutoff: float) -> list[list[Pick]]:
        """A batch as one pipeline of ``EVALSHA`` calls (one round trip, the server runs them in turn)."""
        pipe = self.client.pipeline(transaction=False)
        for q in qs:
            self.script(keys=self._keys(q), args=self._args(q, cutoff), client=pipe)
        return [_picks(reply) for reply in pipe.execute()]


def _picks(reply: Sequence[Any]) -> list[Pick]:
    out = []
    for n in range(0, len(reply), 3):
        cid = reply[n].decode() if isinstance(reply[n], bytes) else str(reply[n])
        out.append(Pick(cid, float(reply[n + 1]), float(reply[n + 2])))
    return out
