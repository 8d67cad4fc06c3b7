"""The Lua scripts the service runs on Redis: each declared once as a `RedisScript`, and run through it.

A script is registered with a Redis client the first time that client runs it, and from then on is called
by its digest (EVALSHA); redis-py loads it again wherever a server has lost it (a restart, a failover, a
cluster node that never had it). Registrations are kept per client, not per process: each app has a client
of its own (the tests build many), and a cluster client's scripts go to the node that holds their keys.
A revoking script runs acknowledged instead (`RedisStore.run_acknowledged`): its text, pipelined with the
`WAIT` that counts its replicas on one connection.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.typing import EncodableT

from movies_auth.extensions import redis_store


class RedisScript:
    """A Lua script, registered once with each Redis client that runs it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._registered: weakref.WeakKeyDictionary[redis.Redis | RedisCluster, Script] = weakref.WeakKeyDictionary()

    def __call__(self, keys: Sequence[str], args: Sequence[EncodableT]) -> Any:
        """Run the script on the current app's Redis."""
        client = redis_store.client
        script = self._registered.get(client)
        if script is None:
            # Two threads may both register it here: each gets a working script, and one of them is kept.
            script = self._registered[client] = client.register_script(self.source)
        return script(keys, args)

    def acknowledged(self, keys: Sequence[str], args: Sequence[EncodableT]) -> Any:
        """Run the script, answering only once the replicas a failover promotes have its write."""
        return redis_store.run_acknowledged(self.source, list(keys), list(args))
