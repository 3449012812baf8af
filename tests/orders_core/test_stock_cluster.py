"""The hash-tag design on a real three-master Redis Cluster: what only a cluster can break.

Every test here runs on the throwaway cluster (``redis_cluster_url``): an order whose warehouses live on
different masters, threads racing such orders, a master that lost its script cache, the rebuild's scans
reaching every master, and the position feed's keys sharing one slot. The generic stock and feed tests
run on the cluster too (their fixtures are parametrised); these add the cluster's own cases.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster

from infra.redis_client import redis_client_from_url
from matcher.feeds import LATEST_KEY, STREAM_KEY
from orders_core.stock.locks import StockSnapshot
from orders_core.stock.model import InsufficientStock, ReservationLine
from orders_core.stock.redis_locks import (
    LOADED_MARKER,
    RedisStockLocks,
    order_index_key,
    reservation_key,
    stock_key,
)

L = ReservationLine


@pytest.fixture
def cluster(fresh_redis_cluster_url: str) -> Iterator[RedisCluster]:
    client = redis_client_from_url(fresh_redis_cluster_url)
    assert isinstance(client, RedisCluster)
    yield client
    client.close()


def _by_key(line: ReservationLine) -> tuple[str, str]:
    return (line.warehouse_id, line.sku)


def _master_of(client: RedisCluster, key: str) -> str:
    return str(client.get_node_from_key(key).name)


def warehouses_on_distinct_masters(client: RedisCluster, count: int) -> list[str]:
    """The first ``count`` warehouse ids ``wh-<n>`` whose stock keys live on pairwise different masters."""
    chosen: dict[str, str] = {}
    for n in range(1000):
        warehouse = f"wh-{n}"
        master = _master_of(client, stock_key(warehouse, "any"))
        if master not in chosen:
            chosen[master] = warehouse
        if len(chosen) == count:
            return list(chosen.values())
    raise AssertionError(f"fewer than {count} masters own warehouse slots")


def test_the_cluster_has_three_masters_and_a_warehouse_keeps_to_one_slot(cluster: RedisCluster) -> None:
    assert len(cluster.get_primaries()) == 3
    slot = cluster.keyslot(stock_key("wh-1", "a"))
    assert cluster.keyslot(stock_key("wh-1", "b")) == slot
    assert cluster.keyslot(reservation_key("wh-1", "order-9")) == slot
    # The position feed's script writes the latest-position hash and the stream: they share a slot.
    assert cluster.keyslot(LATEST_KEY) == cluster.keyslot(STREAM_KEY)


def test_an_order_across_three_masters_is_held_all_or_nothing(cluster: RedisCluster) -> None:
    locks = RedisStockLocks(cluster)
    north, east, west = warehouses_on_distinct_masters(cluster, 3)
    masters = {_master_of(cluster, stock_key(wh, "a")) for wh in (north, east, west)}
    assert len(masters) == 3, "the order must span three masters"
    for warehouse in (north, east, west):
        locks.set_on_hand(warehouse, "a", 5)
    locks.set_on_hand(west, "b", 1)

    with pytest.raises(InsufficientStock) as raised:  # short at one master: nothing held at the others
        locks.reserve("o1", [L(north, "a", 2), L(east, "a", 3), L(west, "b", 2)])
    assert [(s.warehouse_id, s.sku, s.available) for s in raised.value.shortages] == [(west, "b", 1)]
    assert locks.holds("o1") == []
    assert all(level.reserved == 0 for level in locks.all_levels().values())
    assert not cluster.exists(order_index_key("o1"))

    order = [L(north, "a", 2), L(east, "a", 3), L(west, "b", 1)]
    locks.reserve("o2", order)
    assert locks.holds("o2") == sorted(order, key=_by_key)
    for line in order:  # each master holds its own part, in the warehouse's slot
        assert int(cluster.hget(reservation_key(line.warehouse_id, "o2"), line.sku) or 0) == line.qty
    assert sorted(locks.release("o2"), key=_by_key) == sorted(order, key=_by_key)
    assert all(level.reserved == 0 for level in locks.all_levels().values())


def test_threads_racing_orders_across_masters_never_oversell(cluster: RedisCluster) -> None:
    locks = RedisStockLocks(cluster)
    warehouses = warehouses_on_distinct_masters(cluster, 3)
    on_hand = {(wh, sku): 30 for wh in warehouses for sku in ("a", "b")}
    for (warehouse, sku), qty in on_hand.items():
        locks.set_on_hand(warehouse, sku, qty)
    placed: dict[str, list[ReservationLine]] = {}
    refused: list[str] = []
    guard = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for n in range(30):
            spanned = rng.sample(warehouses, rng.randint(2, 3))  # always at least two masters
            order = [L(wh, rng.choice("ab"), rng.randint(1, 3)) for wh in spanned]
            order_id = f"t{seed}-{n}"
            try:
                locks.reserve(order_id, order)
            except InsufficientStock:
                with guard:
                    refused.append(order_id)
            else:
                with guard:
                    placed[order_id] = order

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(placed) + len(refused) == 16 * 30
    assert refused, "demand far exceeds supply: some orders must be refused"
    expected: dict[tuple[str, str], int] = {key: 0 for key in on_hand}
    for lines in placed.values():
        for line in lines:
            expected[(line.warehouse_id, line.sku)] += line.qty
    levels = locks.all_levels()
    for key, qty in on_hand.items():
        assert levels[key].reserved == expected[key] <= qty, key  # no oversell, no stray hold
        assert levels[key].available >= 0
    for order_id in refused:  # a refused order keeps nothing on any master
        assert locks.holds(order_id) == []
    for order_id in random.Random(1).sample(sorted(placed), 20):
        held = {(line.warehouse_id, line.sku): line.qty for line in locks.holds(order_id)}
        want: dict[tuple[str, str], int] = {}
        for line in placed[order_id]:
            want[(line.warehouse_id, line.sku)] = want.get((line.warehouse_id, line.sku), 0) + line.qty
        assert held == want


def test_a_master_that_lost_its_scripts_holds_the_order_once(cluster: RedisCluster) -> None:
    locks = RedisStockLocks(cluster)
    first, second = warehouses_on_distinct_masters(cluster, 2)
    locks.set_on_hand(first, "a", 10)
    locks.set_on_hand(second, "a", 10)  # the script is now cached on both masters
    forgetful = cluster.get_redis_connection(cluster.get_node_from_key(stock_key(second, "a")))
    forgetful.script_flush()  # as after a restart of that master alone
    assert forgetful.script_exists(locks._script.sha) == [False]

    locks.reserve("o1", [L(first, "a", 2), L(second, "a", 3)])  # the first master runs it, the second says NOSCRIPT

    assert forgetful.script_exists(locks._script.sha) == [True]  # loaded again, and its group run once

    levels = locks.levels([(first, "a"), (second, "a")])
    assert (levels[(first, "a")].reserved, levels[(second, "a")].reserved) == (2, 3)  # not taken twice
    assert locks.holds("o1") == [L(first, "a", 2), L(second, "a", 3)]


def test_load_wipes_and_rebuilds_every_master(cluster: RedisCluster) -> None:
    locks = RedisStockLocks(cluster)
    warehouses = warehouses_on_distinct_masters(cluster, 3)
    for warehouse in warehouses:  # stale keys on every master
        locks.set_on_hand(warehouse, "stale", 1)
        locks.reserve(f"old-{warehouse}", [L(warehouse, "stale", 1)])
    snapshot = StockSnapshot(
        on_hand={(wh, "a"): 4 for wh in warehouses},
        holds={"o1": [L(wh, "a", 1) for wh in warehouses]},
    )
    locks.load(snapshot)

    assert locks.is_loaded() and cluster.exists(LOADED_MARKER)
    assert {key: (level.on_hand, level.reserved) for key, level in locks.all_levels().items()} == {
        (wh, "a"): (4, 1) for wh in warehouses
    }
    assert locks.holds("o1") == sorted((L(wh, "a", 1) for wh in warehouses), key=_by_key)
    for warehouse in warehouses:
        assert locks.holds(f"old-{warehouse}") == []
    stock_keys_by_master = {
        node.name: [key for key in cluster.scan_iter(match="stock:*", target_nodes=node)]
        for node in cluster.get_primaries()
    }
    assert all(len(keys) == 1 for keys in stock_keys_by_master.values()), stock_keys_by_master
