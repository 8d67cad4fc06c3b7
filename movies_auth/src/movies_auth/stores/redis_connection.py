"""Clients of the Redis deployment `REDIS_URL` names: one server, a primary Sentinel watches, or a Redis Cluster.

`redis://` and `rediss://` name one server; `redis+sentinel://host:port[,host:port...]/<service>[/<db>]` the
primary a set of Sentinels elect for `<service>` (redis-py's `SentinelConnectionPool`, which finds the new
primary after a failover); `redis+cluster://host:port[,host:port...]` a Redis Cluster (`RedisCluster`,
which follows slots as they move). Flask-Limiter's storage reads the same URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import MovedError
from redis.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"


class ReplicasNotReached(redis.RedisError):
    """A write reached the primary but not, in time, the replicas a failover must not lose it from."""


@dataclass(frozen=True)
class RedisDeployment:
    """What a Redis URL names, and how to reach it: one client for commands, one per primary for tracking."""

    url: str
    options: dict[str, Any]

    @property
    def kind(self) -> str:
        """`server`, `sentinel` or `cluster`."""
        scheme = urlsplit(self.url).scheme
        return {SENTINEL_SCHEME: "sentinel", CLUSTER_SCHEME: "cluster"}.get(scheme, "server")

    def client(self, **extra: Any) -> redis.Redis | RedisCluster:
        """A client for the service's commands; a server's or a Sentinel primary's never closes the pool it is on."""
        options = {**self.options, **extra}
        parts = urlsplit(self.url)
        if self.kind == "server":
            return shared(redis.ConnectionPool.from_url(self.url, **options))
        credentials = _credentials(parts.username, parts.password)
        if self.kind == "cluster":
            options.pop("health_check_interval", None)
            nodes = [ClusterNode(host, port) for host, port in _hosts(parts.netloc)]
            return RedisCluster(startup_nodes=nodes, **credentials, **options)
        service, db = _sentinel_path(parts.path)
        sentinel = Sentinel(
            _hosts(parts.netloc),
            sentinel_kwargs={key: value for key, value in options.items() if key.startswith("socket_")},
        )
        # What `Sentinel.master_for` builds, but with a pool no client owns.
        return shared(SentinelConnectionPool(service, sentinel, is_master=True, db=db, **options, **credentials))

    def tracking_clients(self, client: redis.Redis | RedisCluster) -> list[redis.Redis]:
        """A RESP2 client of each primary as `client` sees them now, for connections that track keys.

        A cluster's primaries change with failovers, so ask again after a tracking connection is lost.
        """
        if isinstance(client, RedisCluster):
            parts = urlsplit(self.url)
            options = {**self.options, **_credentials(parts.username, parts.password)}
            return [
                redis.Redis(host=node.host, port=node.port, protocol=2, **options) for node in client.get_primaries()
            ]
        return [self.client(protocol=2)]


def shared(pool: redis.ConnectionPool) -> redis.Redis:
    """A client of `pool` that leaves the pool open when it is closed or garbage-collected."""
    # A client that owns its pool (`Redis.from_url`, `from_pool`, `Sentinel.master_for`) disconnects all its
    # connections then, those other threads are reading from too (redis-py issue #3669): the app hands its pool
    # to Flask-Limiter, whose storage outlives an app. The connections close with the pool, once nothing holds it.
    return redis.Redis(connection_pool=pool)


def primary_of(client: redis.Redis | RedisCluster, key: str) -> redis.Redis:
    """A client of the one server that holds `key` now: `client` itself, unless it is a cluster's."""
    if isinstance(client, RedisCluster):
        return client.get_redis_connection(client.get_node_from_key(key))
    return client


def run_acknowledged(
    client: redis.Redis | RedisCluster, script: str, keys: Sequence[str], args: Sequence[object], *, replicas: int,
    timeout_ms: int,
) -> Any:  # fmt: skip
    """Run a Lua script on the primary of `keys`, then `WAIT` until `replicas` replicas have its write.

    Both go down one connection, as `WAIT` counts the writes of its own connection. Fewer replicas in
    time raise `ReplicasNotReached`: the write stands on the primary, but a failover now could lose it.
    """
    try:
        return _run_and_wait(primary_of(client, keys[0]), script, keys, args, replicas, timeout_ms)
    except (redis.ConnectionError, MovedError):
        # A cluster slot that moved or a primary that went away: learn the new map, try once more.
        if not isinstance(client, RedisCluster):
            raise
        client.nodes_manager.initialize()
        return _run_and_wait(primary_of(client, keys[0]), script, keys, args, replicas, timeout_ms)


def _run_and_wait(
    server: redis.Redis, script: str, keys: Sequence[str], args: Sequence[object], replicas: int, timeout_ms: int
) -> Any:
    pipeline = server.pipeline(transaction=False)
    pipeline.eval(script, len(keys), *keys, *args)
    if replicas:
        pipeline.execute_command("WAIT", replicas, timeout_ms)
    answers = pipeline.execute()
    if replicas and answers[1] < replicas:
        raise ReplicasNotReached(f"the write reached {answers[1]} of {replicas} replicas within {timeout_ms} ms")
    return answers[0]


def _hosts(netloc: str) -> list[tuple[str, int]]:
    """`host:port` pairs of a URL's comma-separated host list (after any credentials)."""
    hosts = netloc.rpartition("@")[2]
    pairs = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"expected host:port in the Redis URL, got {host!r}")
        pairs.append((name.strip("[]"), int(port)))
    return pairs


def _sentinel_path(path: str) -> tuple[str, int]:
    """The service name and database number of a Sentinel URL's path, `/<service>[/<db>]`."""
    service, _, db = path.strip("/").partition("/")
    if not service or (db and not db.isdigit()):
        raise ValueError("a redis+sentinel:// URL names its service: redis+sentinel://host:port/<service>[/<db>]")
    return service, int(db or 0)


def _credentials(username: str | None, password: str | None) -> dict[str, str]:
    credentials = {}
    if username:
        credentials["username"] = unquote(username)
    if password:
        credentials["password"] = unquote(password)
    return credentials
