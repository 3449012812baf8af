"""The one place a Redis client is built from a URL: a single server or a Redis Cluster.

``DISPATCH_REDIS_URL`` takes either form:

- ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``): one server, ``redis.Redis``;
- ``redis+cluster://[user:password@]host:port[,host:port...]`` (or ``rediss+cluster://`` for TLS): a Redis
  Cluster, ``redis.cluster.RedisCluster``. The listed nodes are only the seeds; the client discovers every
  master and the slot map from any one of them. A cluster has database 0 only, so a path other than
  ``/`` or ``/0`` is refused. Query options (``?socket_timeout=2``) apply as for a single server.

Callers (the container, CLI commands, benchmarks) get the same command surface either way; the code that
uses it keeps every multi-key command, script and transaction within one hash slot (hash tags) so it runs
unchanged on both.
"""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import SplitResult, urlsplit, urlunsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url

#: A client of a single Redis server or of a Redis Cluster.
RedisClient: TypeAlias = redis.Redis | RedisCluster

#: Cluster URL schemes and the single-server scheme each one's seed nodes speak.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
DEFAULT_PORT = 6379


class RedisUrlError(ValueError):
    """The Redis URL cannot be used; the message says why."""


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://`` or ``rediss+cluster://``)."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def check_redis_url(url: str) -> None:
    """Raise :class:`RedisUrlError` when ``url`` names no usable server or cluster (without connecting)."""
    if is_cluster_url(url):
        _cluster_parts(url)
        return
    try:
        parse_url(url)
    except ValueError as exc:
        raise RedisUrlError(f"{exc}, or redis+cluster:// (rediss+cluster://) for a Redis Cluster") from exc


def redis_client_from_url(url: str, **options: Any) -> RedisClient:
    """A client for ``url`` (see the module docstring for the schemes); ``options`` go to the client."""
    if is_cluster_url(url):
        return _cluster_from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def each_server(client: RedisClient) -> list[redis.Redis]:
    """A client per server behind ``client``: itself for one server, one per master for a cluster (for
    per-server commands such as ``INFO``, whose figures are to be added up over the masters)."""
    if isinstance(client, RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def cluster_seed_nodes(url: str) -> list[tuple[str, int]]:
    """The (host, port) seed nodes a cluster URL lists, in order."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    seeds = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon:
            host, port = item.strip(), str(DEFAULT_PORT)
        host = host.strip("[]")  # IPv6 literals are bracketed in URLs
        if not host or not port.isdigit():
            raise RedisUrlError(f"bad cluster node {item!r} in Redis URL (expected host:port)")
        seeds.append((host, int(port)))
    return seeds


def _cluster_parts(url: str) -> tuple[SplitResult, list[tuple[str, int]]]:
    parts = urlsplit(url)
    if parts.path not in ("", "/", "/0"):
        raise RedisUrlError(f"a Redis Cluster has database 0 only, the URL names {parts.path!r}")
    return parts, cluster_seed_nodes(url)


def _cluster_from_url(url: str, **options: Any) -> RedisCluster:
    parts, seeds = _cluster_parts(url)
    userinfo, at, _hosts = parts.netloc.rpartition("@")
    first_host, first_port = seeds[0]
    host = f"[{first_host}]" if ":" in first_host else first_host
    # The first seed (with credentials and query options) through redis-py's own URL parser; the rest as
    # further startup nodes, so the client can start while any one of them is down.
    first = urlunsplit(
        (CLUSTER_SCHEMES[parts.scheme.lower()], f"{userinfo}{at}{host}:{first_port}", "", parts.query, "")
    )
    others = [ClusterNode(h, p) for h, p in seeds[1:]]
    return RedisCluster.from_url(first, startup_nodes=others or None, **options)
