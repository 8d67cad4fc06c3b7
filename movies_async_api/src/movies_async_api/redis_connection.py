"""The async client of the Redis deployment `REDIS_URL` names: one server, a primary Sentinel watches, or a cluster.

The same URLs as movies_auth reads: `redis://` and `rediss://` for one server;
`redis+sentinel://host:port[,host:port...]/<service>[/<db>]` for the primary the Sentinels elect
(found again after a failover); `redis+cluster://host:port[,host:port...]` for a Redis Cluster.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel


def connect(url: str, **options: Any) -> Redis | RedisCluster:
    """A client of the deployment `url` names, with `options` for every connection it makes."""
    parts = urlsplit(url)
    credentials = {
        name: unquote(value) for name, value in (("username", parts.username), ("password", parts.password)) if value
    }
    if parts.scheme == "redis+cluster":
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in _hosts(parts.netloc)],
                            **credentials, **options)  # fmt: skip
    if parts.scheme == "redis+sentinel":
        service, _, db = parts.path.strip("/").partition("/")
        if not service or (db and not db.isdigit()):
            raise ValueError("a redis+sentinel:// URL names its service: redis+sentinel://host:port/<service>[/<db>]")
        sentinel_options = {key: value for key, value in options.items() if key.startswith("socket_")}
        sentinel = Sentinel(_hosts(parts.netloc), sentinel_kwargs=sentinel_options, **options)
        return sentinel.master_for(service, db=int(db or 0), **credentials)
    return Redis.from_url(url, **options)


async def pubsub(client: Redis | RedisCluster) -> PubSub:
    """A pub/sub connection of `client`'s deployment; on a cluster, to the node that holds the first channel."""
    # A cluster client learns its slot map on its first command; a pub/sub made before that finds no node
    # for its channel. PUBLISH reaches every node of a cluster, so any node hears every announcement.
    if isinstance(client, RedisCluster):
        await client.initialize()
    return client.pubsub()


def _hosts(netloc: str) -> list[tuple[str, int]]:
    """`host:port` pairs of a URL's comma-separated host list (after any credentials)."""
    pairs = []
    for host in netloc.rpartition("@")[2].split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"expected host:port in the Redis URL, got {host!r}")
        pairs.append((name.strip("[]"), int(port)))
    return pairs
