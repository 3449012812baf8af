"""Stock locks in Redis: one Lua script call per warehouse group, atomic inside the group.

Keys are hash-tagged by warehouse so a script touches one hash slot:
``stock:{wh:<id>}:<sku>`` (hash: wh, sku, on_hand, reserved), ``resv:{wh:<id>}:<order_id>`` (hash:
sku -> held qty, the per-order record that makes release idempotent) and ``lease:{wh:<id>}:<order_id>``
(hash of the tokens of units of work whose hold there has not committed yet; expires by itself).
``resv-wh:{order:<id>}`` is the set of warehouses an order holds stock at (so ``release(order_id)`` finds
them). ``stock-meta:{wh:<id>}:loaded`` marks a warehouse's keys as loaded, in the warehouse's own slot:
when one Redis Cluster master restarts empty, its warehouses lose their marker with their keys, and the
reconciler reloads them (a single global marker could survive on another master).

An order is reserved in ONE round trip (a pipeline: the order's warehouse set, then one script call per
warehouse group), all lines of a group or none. An order spanning warehouses touches several hash slots,
which Redis Cluster cannot script atomically: if some group is short, the groups taken are released
again (compensation). Stock is therefore never oversold; at worst another
order racing with the compensation sees a transient shortage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from redis.exceptions import NoScriptError

from orders_core.stock.locks import HoldRecord, Lease, StockKey, StockSnapshot
from orders_core.stock.model import (
    InsufficientStock,
    NegativeQuantity,
    ReservationLine,
    Shortage,
    StockBelowReserved,
    StockLevel,
    merge_lines,
)

LOADED_MARKER = "stock-meta:loaded"
REBUILD_LOCK = "stock-meta:rebuilding"
REBUILD_LOCK_TTL_MS = 120_000
SCRIPT_PATH = Path(__file__).with_name("stock.lua")


def stock_key(warehouse_id: str, sku: str) -> str:
    """Hash of one SKU's counts at one warehouse."""
    return f"stock:{{wh:{warehouse_id}}}:{sku}"


def reservation_key(warehouse_id: str, order_id: str) -> str:
    """Hash of what one order holds at one warehouse (same slot as the warehouse's stock keys)."""
    return f"resv:{{wh:{warehouse_id}}}:{order_id}"


def lease_key(warehouse_id: str, order_id: str) -> str:
    """Hash of the lease tokens of the order's in-flight holds at one warehouse (same slot)."""
    return f"lease:{{wh:{warehouse_id}}}:{order_id}"


def warehouse_marker(warehouse_id: str) -> str:
    """Present while the warehouse's keys are loaded (same slot: lost with them)."""
    return f"stock-meta:{{wh:{warehouse_id}}}:loaded"


def order_index_key(order_id: str) -> str:
    """Set of warehouses where the order holds stock."""
    return f"resv-wh:{{order:{order_id}}}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _by_warehouse(lines: Sequence[ReservationLine]) -> list[tuple[str, list[ReservationLine]]]:
    merged = merge_lines(lines)  # sorted by (warehouse, sku)
    return [(wh, list(group)) for wh, group in groupby(merged, key=lambda line: line.warehouse_id)]


def _group_args(
    op: str, order_id: str, warehouse_id: str, lines: Sequence[ReservationLine], lease: Lease | None = None
) -> tuple[list[str], list[Any]]:
    keys = [reservation_key(warehouse_id, order_id), lease_key(warehouse_id, order_id)]
    keys += [stock_key(warehouse_id, line.sku) for line in lines]
    args: list[Any] = [op, lease.token if lease else "", lease.ttl_ms if lease else 0]
    for line in lines:
        args += [line.sku, line.qty]
    return keys, args


class RedisStockLocks:
    """``StockLocks`` over Redis; many service processes may share it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._script = client.register_script(SCRIPT_PATH.read_text())

    def _call(self, keys: list[str], args: list[Any]) -> Any:
        return self._script(keys=keys, args=args)

    def _group_call(self, op: str, order_id: str, warehouse_id: str, lines: Sequence[ReservationLine]) -> Any:
        keys, args = _group_args(op, order_id, warehouse_id, lines)
        return self._call(keys, args)

    def set_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> tuple[StockLevel | None, StockLevel]:
        if on_hand < 0:
            raise NegativeQuantity(f"on_hand must not be negative, got {on_hand}")
        answer = self._call([stock_key(warehouse_id, sku)], ["set", warehouse_id, sku, on_hand])
        if int(answer[0]) == 0:
            reserved = int(answer[1])
            raise StockBelowReserved(
                f"on_hand of {sku} at {warehouse_id} cannot be {on_hand}: {reserved} are reserved by orders"
            )
        previous, reserved = int(answer[1]), int(answer[2])
        before = StockLevel.of(previous, reserved) if previous >= 0 else None
        return before, StockLevel.of(on_hand, reserved)

    def put_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> None:
        self._call([stock_key(warehouse_id, sku)], ["put", warehouse_id, sku, on_hand])

    def adjust_on_hand(self, warehouse_id: str, sku: str, delta: int) -> None:
        # The names too: goods may arrive where no level was set yet (levels() reads them back).
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(stock_key(warehouse_id, sku), mapping={"wh": warehouse_id, "sku": sku})
        pipe.hincrby(stock_key(warehouse_id, sku), "on_hand", delta)
        pipe.execute()

    def reserve(self, order_id: str, lines: Sequence[ReservationLine], lease: Lease | None = None) -> None:
        groups = _by_warehouse(lines)
        if not groups:
            return
        answers = self._reserve_round_trip(order_id, groups, lease)
        shortages = []
        taken: list[tuple[str, list[ReservationLine]]] = []
        for (warehouse_id, group), answer in zip(groups, answers, strict=True):
            if int(answer[0]) == 1:
                taken.append((warehouse_id, group))
                continue
            shortages += [
                Shortage(warehouse_id, group[int(i) - 1].sku, group[int(i) - 1].qty, max(int(available), 0))
                for i, available in zip(answer[1::2], answer[2::2], strict=True)
            ]
        if not shortages:
            return
        for wh, done in taken:  # compensation: give back the groups held
            self._group_call("release", order_id, wh, done)
            if lease is not None:
                self.client.hdel(lease_key(wh, order_id), lease.token)
        for wh, _ in groups:
            if not self.client.exists(reservation_key(wh, order_id)):
                self.client.srem(order_index_key(order_id), wh)
        raise InsufficientStock(shortages)

    def _reserve_round_trip(
        self, order_id: str, groups: list[tuple[str, list[ReservationLine]]], lease: Lease | None
    ) -> list[Any]:
        """SADD the order's warehouses and run the reserve script of every group in one pipeline.

        EVALSHA is queued through ``execute_command``: redis-py's cluster pipeline refuses its ``evalsha``
        method but routes the command itself by its keys' slot. A group answered NOSCRIPT (its server
        restarted with an empty script cache) ran nothing and is run again alone, loading the script; the
        other groups ran and are not repeated (on a Redis Cluster only some masters may have lost the cache).
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(order_index_key(order_id), *[wh for wh, _ in groups])
        for warehouse_id, group in groups:
            keys, args = _group_args("reserve", order_id, warehouse_id, group, lease)
            pipe.execute_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
        answers = list(pipe.execute(raise_on_error=False))
        for index, answer in enumerate(answers):
            if isinstance(answer, NoScriptError):
                warehouse_id, group = groups[index - 1]
                answers[index] = self._call(*_group_args("reserve", order_id, warehouse_id, group, lease))
            elif isinstance(answer, Exception):
                raise answer
        return answers[1:]

    def _held_at(self, order_id: str, warehouse_id: str) -> list[ReservationLine]:
        record = self.client.hgetall(reservation_key(warehouse_id, order_id))
        return [ReservationLine(warehouse_id, _text(sku), int(qty)) for sku, qty in sorted(record.items())]

    def _warehouses_of(self, order_id: str) -> list[str]:
        return sorted(_text(wh) for wh in self.client.smembers(order_index_key(order_id)))

    def _take(self, op: str, order_id: str, lines: Sequence[ReservationLine] | None) -> list[ReservationLine]:
        if lines is None:
            groups = [(wh, self._held_at(order_id, wh)) for wh in self._warehouses_of(order_id)]
        else:
            groups = _by_warehouse(lines)
        taken: list[ReservationLine] = []
        for warehouse_id, group in groups:
            if group:
                answer = self._group_call(op, order_id, warehouse_id, group)
                taken += [
                    ReservationLine(warehouse_id, line.sku, int(qty))
                    for line, qty in zip(group, answer, strict=True)
                    if int(qty) > 0
                ]
            if not self.client.exists(reservation_key(warehouse_id, order_id)):
                self.client.srem(order_index_key(order_id), warehouse_id)
        return taken

    def release(self, order_id: str, lines: Sequence[ReservationLine] | None = None) -> list[ReservationLine]:
        return self._take("release", order_id, lines)

    def consume(self, order_id: str, lines: Sequence[ReservationLine]) -> list[ReservationLine]:
        return self._take("consume", order_id, lines)

    def confirm(self, order_id: str, warehouse_ids: Collection[str], token: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        for warehouse_id in sorted(set(warehouse_ids)):
            pipe.hdel(lease_key(warehouse_id, order_id), token)
        pipe.execute()

    def hold_records(self) -> list[HoldRecord]:
        names = [_text(key) for key in self.client.scan_iter(match="resv:*", count=1000)]
        parsed = []
        for name in names:
            tagged, _, order_id = name[len("resv:") :].partition("}:")
            parsed.append((tagged[len("{wh:") :], order_id))
        pipe = self.client.pipeline(transaction=False)
        for warehouse_id, order_id in parsed:
            pipe.hgetall(reservation_key(warehouse_id, order_id))
            pipe.exists(lease_key(warehouse_id, order_id))
        answers = pipe.execute()
        records = []
        for (warehouse_id, order_id), record, leased in zip(parsed, answers[::2], answers[1::2], strict=True):
            if record:
                qty = {_text(sku): int(n) for sku, n in record.items()}
                records.append(HoldRecord(order_id, warehouse_id, qty, bool(leased)))
        return sorted(records, key=lambda r: (r.order_id, r.warehouse_id))

    def repair_hold(
        self, order_id: str, warehouse_id: str, expected: Mapping[str, int], target: Mapping[str, int]
    ) -> int | None:
        skus = sorted(set(expected) | set(target))
        keys = [reservation_key(warehouse_id, order_id), lease_key(warehouse_id, order_id)]
        keys += [stock_key(warehouse_id, sku) for sku in skus]
        args: list[Any] = ["fix_hold", "", 0]
        for sku in skus:
            args += [sku, expected.get(sku, 0), target.get(sku, 0)]
        answer = int(self._call(keys, args)[0])
        if answer < 0:
            return None
        if target and any(target.values()):
            self.client.sadd(order_index_key(order_id), warehouse_id)
        elif not self.client.exists(reservation_key(warehouse_id, order_id)):
            self.client.srem(order_index_key(order_id), warehouse_id)
        return answer

    def repair_on_hand(self, warehouse_id: str, sku: str, expected: int | None, target: int) -> bool:
        expected_arg = "" if expected is None else expected
        args = ["fix_on_hand", warehouse_id, sku, expected_arg, target]
        return bool(int(self._call([stock_key(warehouse_id, sku)], args)))

    def missing_warehouses(self, warehouse_ids: Collection[str]) -> list[str]:
        ids = sorted(set(warehouse_ids))
        pipe = self.client.pipeline(transaction=False)
        for warehouse_id in ids:
            pipe.exists(warehouse_marker(warehouse_id))
        return [wh for wh, present in zip(ids, pipe.execute(), strict=True) if not present]

    def mark_loaded(self, warehouse_id: str) -> None:
        self.client.set(warehouse_marker(warehouse_id), str(time.time()))

    def load_warehouse(self, warehouse_id: str, snapshot: StockSnapshot) -> None:
        tag = f"{{wh:{warehouse_id}}}"
        self.client.delete(warehouse_marker(warehouse_id))  # a reload cut short is retried by the next pass
        wipe = self.client.pipeline(transaction=False)
        for pattern in (f"stock:{tag}:*", f"resv:{tag}:*", f"lease:{tag}:*"):
            for key in self.client.scan_iter(match=pattern, count=1000):
                wipe.unlink(key)
        wipe.execute()
        only = StockSnapshot(
            on_hand={key: n for key, n in snapshot.on_hand.items() if key[0] == warehouse_id},
            holds={
                order_id: [line for line in lines if line.warehouse_id == warehouse_id]
                for order_id, lines in snapshot.holds.items()
            },
        )
        self._write(only, [warehouse_id])

    def holds(self, order_id: str) -> list[ReservationLine]:
        return [line for wh in self._warehouses_of(order_id) for line in self._held_at(order_id, wh)]

    def levels(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel]:
        keys = list(keys)
        if not keys:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for warehouse_id, sku in keys:
            pipe.hmget(stock_key(warehouse_id, sku), "on_hand", "reserved")
        found = {}
        for key, (on_hand, reserved) in zip(keys, pipe.execute(), strict=True):
            if on_hand is not None:
                found[key] = StockLevel.of(int(on_hand), int(reserved or 0))
        return found

    def levels_if_loaded(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel] | None:
        """The global loaded marker read in the same pipeline as the levels (one round trip)."""
        keys = list(keys)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(LOADED_MARKER)
        for warehouse_id, sku in keys:
            pipe.hmget(stock_key(warehouse_id, sku), "on_hand", "reserved")
        loaded, *answers = pipe.execute()
        if not loaded:
            return None
        found = {}
        for key, (on_hand, reserved) in zip(keys, answers, strict=True):
            if on_hand is not None:
                found[key] = StockLevel.of(int(on_hand), int(reserved or 0))
        return found

    def available_for_skus(self, skus: Collection[str]) -> dict[str, dict[str, int]] | None:
        return None  # no index by SKU in Redis: the service takes the keys from the durable mirror

    def all_levels(self) -> dict[StockKey, StockLevel]:
        found = {}
        for key in self.client.scan_iter(match="stock:*", count=1000):
            record = {_text(k): _text(v) for k, v in self.client.hgetall(key).items()}
            if "on_hand" in record:
                found[(record["wh"], record["sku"])] = StockLevel.of(
                    int(record["on_hand"]), int(record.get("reserved", 0))
                )
        return found

    def load(self, snapshot: StockSnapshot) -> None:
        # One key per command (not a multi-key DEL), so the same code runs on Redis Cluster.
        wipe = self.client.pipeline(transaction=False)
        for pattern in ("stock:*", "resv:*", "resv-wh:*", "lease:*"):
            for key in self.client.scan_iter(match=pattern, count=1000):
                wipe.unlink(key)
        wipe.execute()
        warehouses = {key[0] for key in snapshot.on_hand}
        warehouses |= {line.warehouse_id for lines in snapshot.holds.values() for line in lines}
        self._write(snapshot, sorted(warehouses))
        self.client.set(LOADED_MARKER, str(time.time()))

    def _write(self, snapshot: StockSnapshot, warehouses: Sequence[str]) -> None:
        """Write counts and holds of ``snapshot``, then the loaded marker of each of ``warehouses``."""
        reserved: dict[StockKey, int] = {}
        pipe = self.client.pipeline(transaction=False)
        for order_id, lines in snapshot.holds.items():
            for line in merge_lines(lines):
                key = (line.warehouse_id, line.sku)
                reserved[key] = reserved.get(key, 0) + line.qty
                pipe.hset(reservation_key(line.warehouse_id, order_id), line.sku, line.qty)  # idempotent
                pipe.sadd(order_index_key(order_id), line.warehouse_id)
        for key in set(snapshot.on_hand) | set(reserved):
            pipe.hset(
                stock_key(*key),
                mapping={
                    "wh": key[0],
                    "sku": key[1],
                    "on_hand": snapshot.on_hand.get(key, 0),
                    "reserved": reserved.get(key, 0),
                },
            )
        for warehouse_id in warehouses:
            pipe.set(warehouse_marker(warehouse_id), str(time.time()))
        pipe.execute()

    def is_loaded(self) -> bool:
        return bool(self.client.exists(LOADED_MARKER))

    def load_if_not_loaded(self, snapshot: Callable[[], StockSnapshot], *, wait_s: float = 60.0) -> bool:
        """Rebuild under a Redis lock so that two processes never reload over each other's fresh holds."""
        token = f"{time.time_ns()}"
        deadline = time.monotonic() + wait_s
        while not self.client.set(REBUILD_LOCK, token, nx=True, px=REBUILD_LOCK_TTL_MS):
            if self.is_loaded():
                return False  # another process rebuilt it
            if time.monotonic() > deadline:
                raise TimeoutError("waited too long for another process to rebuild the stock store")
            time.sleep(0.05)
        try:
            if self.is_loaded():
                return False
            self.load(snapshot())
            return True
        finally:
            if _text(self.client.get(REBUILD_LOCK) or b"") == token:
                self.client.delete(REBUILD_LOCK)
