"""Live carrier positions shared through Redis: a latest-position hash plus a stream every process tails.

Writers call ``RedisPositionStore.write`` (one Lua round trip: compare timestamps, HSET the newer fixes,
XADD them to the stream). Each API process runs one ``RedisPositionFeed`` thread that reads the stream
and applies the fixes to its own in-memory index, so a position posted to any process is matchable in
all of them. The Redis client is handed in; nothing here builds connections or reads settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

log = structlog.get_logger("matcher.feeds")

STREAM_KEY = "positions"
# Same hash slot as "positions" (hash tag), so the write script also runs on Redis Cluster.
LATEST_KEY = "{positions}:latest"
STREAM_MAXLEN = 200_000

_WRITE_SCRIPT = """
local maxlen = ARGV[1]
local accepted = 0
for i = 2, #ARGV, 4 do
  local id, lat, lng, ts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local current = redis.call('HGET', KEYS[1], id)
  local newer = true
  if current then
    local current_ts = tonumber(string.match(current, '([^,]+)$'))
    if current_ts and current_ts >= tonumber(ts) then newer = false end
  end
  if newer then
    redis.call('HSET', KEYS[1], id, lat .. ',' .. lng .. ',' .. ts)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', 'c', id, 'lat', lat, 'lng', lng, 'ts', ts)
    accepted = accepted + 1
  end
end
return accepted
"""


class PositionSink(Protocol):
    """What the feed writes into (``matcher.index.CarrierIndex`` satisfies it)."""

    def update_positions(self, ids: Sequence[str], lats: Any, lngs: Any, ts_s: Any) -> int: ...


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisPositionStore:
    """The shared latest-position hash and update stream."""

    def __init__(self, client: Any, *, stream_key: str = STREAM_KEY, latest_key: str = LATEST_KEY) -> None:
        self.client = client
        self.stream_key = stream_key
        self.latest_key = latest_key
        self._write = client.register_script(_WRITE_SCRIPT)

    def write(self, ids: Sequence[str], lats: Sequence[float], lngs: Sequence[float], ts_s: Sequence[float]) -> int:
        """Record fixes newer than the stored ones and publish them; returns how many were newer."""
        if not ids:
            return 0
        args: list[Any] = [STREAM_MAXLEN]
        for carrier_id, lat, lng, ts in zip(ids, lats, lngs, ts_s, strict=True):
            args.extend((carrier_id, repr(float(lat)), repr(float(lng)), repr(float(ts))))
        return int(self._write(keys=[self.latest_key, self.stream_key], args=args))

    def publish_carrier_changed(self, carrier_id: str) -> None:
        """Tell every process that a carrier's master data changed (they reload it from the DB)."""
        self.client.xadd(self.stream_key, {"carrier": carrier_id}, maxlen=STREAM_MAXLEN, approximate=True)

    def publish_fences_changed(self) -> None:
        """Tell every process that geofences changed (they reload them for event detection)."""
        self.client.xadd(self.stream_key, {"fences": "changed"}, maxlen=STREAM_MAXLEN, approximate=True)

    def latest(self) -> dict[str, tuple[float, float, float]]:
        """Every carrier's newest fix as (lat, lng, ts_s)."""
        result: dict[str, tuple[float, float, float]] = {}
        for key, value in self.client.hgetall(self.latest_key).items():
            lat, lng, ts = _text(value).split(",")
            result[_text(key)] = (float(lat), float(lng), float(ts))
        return result

    def last_stream_id(self) -> str:
        """The id of the newest stream entry ("0-0" if empty): tail from here after reading ``latest``."""
        entries = self.client.xrevrange(self.stream_key, count=1)
        return _text(entries[0][0]) if entries else "0-0"


class RedisPositionFeed:
    """A daemon thread applying the stream's fixes to a local index (one per process)."""

    def __init__(
        self,
        store: RedisPositionStore,
        sink: PositionSink,
        *,
        start_id: str = "0-0",
        on_carrier_changed: Callable[[str], None] | None = None,
        on_fences_changed: Callable[[], None] | None = None,
        block_ms: int = 500,
        batch_size: int = 5_000,
    ) -> None:
        self.store = store
        self.sink = sink
        self.last_id = start_id
        self.on_carrier_changed = on_carrier_changed
        self.on_fences_changed = on_fences_changed
        self.block_ms = block_ms
        self.batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, block_ms: int | None = None) -> int:
        """Read and apply one batch of stream entries; returns how many entries were read."""
        response = self.store.client.xread({self.store.stream_key: self.last_id}, count=self.batch_size, block=block_ms)
        if not response:
            return 0
        ids: list[str] = []
        lats: list[float] = []
        lngs: list[float] = []
        stamps: list[float] = []
        changed: list[str] = []
        fences_changed = False
        read = 0
        for _stream, entries in response:
            for entry_id, fields in entries:
                read += 1
                self.last_id = _text(entry_id)
                data = {_text(k): _text(v) for k, v in fields.items()}
                if "carrier" in data:
                    changed.append(data["carrier"])
                    continue
                if "fences" in data:
                    fences_changed = True
                    continue
                try:
                    fix = (data["c"], float(data["lat"]), float(data["lng"]), float(data["ts"]))
                except (KeyError, ValueError):
                    log.warning("malformed_position_entry", entry_id=self.last_id)
                    continue
                ids.append(fix[0])
                lats.append(fix[1])
                lngs.append(fix[2])
                stamps.append(fix[3])
        if changed and self.on_carrier_changed is not None:
            for carrier_id in dict.fromkeys(changed):
                self.on_carrier_changed(carrier_id)
        if fences_changed and self.on_fences_changed is not None:
            self.on_fences_changed()
        if ids:
            self.sink.update_positions(ids, lats, lngs, stamps)
        return read

    def start(self) -> None:
        """Start tailing in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="position-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to stop and wait for it (at most one blocking read)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(self.block_ms)
            except Exception:  # a Redis outage must not kill the feed; retry with a pause
                if self._stop.is_set():
                    return
                log.exception("position_feed_error")
                self._stop.wait(1.0)
