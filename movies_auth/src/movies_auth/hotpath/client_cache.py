"""Client-side caching of the hot Redis keys, kept exact by Redis itself (server-assisted invalidation).

Every token and permission check reads a few keys that almost never change: is this session revoked,
what is the user's token epoch, which permissions does the user hold. A network round trip to Redis
costs as much as the rest of the request, so each process keeps the values it has read, and Redis
tells it of every write to those keys over one dedicated connection (`CLIENT TRACKING ... BCAST` on the
key prefixes, notices published on `__redis__:invalidate`).

Every read first drains the notices waiting on that connection (a non-blocking poll, no round trip),
so a write that has returned to its caller is seen by the very next read in every process. On a
Redis Cluster there is one tracking connection per primary (each tells of writes to its own slots),
and losing any of them, as a failover does, empties the cache like losing the only one. A read
that raced a notice is not kept; a lost or silent tracking connection empties the cache and sends
reads straight to Redis until tracking is back, so no outage can leave a stale value behind. An idle
worker's notices wait in Redis's output buffer for it; past the pub/sub buffer limit Redis drops the
connection, and the worker starts over with an empty cache.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable, Sequence

import redis

log = logging.getLogger(__name__)

INVALIDATION_CHANNEL = "__redis__:invalidate"
_MISSING = object()


class ClientSideCache:
    """`mget` through a per-process copy of keys under `prefixes`, invalidated by Redis on every write.

    The keys may lie in several hash slots of a cluster (the global grants version beside a user's keys):
    a miss then reads each slot's keys with a command of its own.

    `trackers` gives a client of each primary (one, unless a cluster) for the tracking connections,
    speaking RESP2 (notices arrive as pub/sub messages); it is asked again whenever tracking restarts,
    as the primaries may have changed. Without it, every read goes straight to Redis.
    """

    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        prefixes: Sequence[str],
        trackers: Callable[[], list[redis.Redis]] | None = None,
        *,
        max_entries: int = 100_000,
        max_backlog: int = 10_000,
        heartbeat: float = 0.5,
        retry_after: float = 0.5,
    ) -> None:
        self._client, self._trackers = client, trackers
        self._prefixes = tuple(prefixes)
        self._max_entries = max_entries
        # Past this many keys waiting, dropping the connection (and its backlog, unread) and the cache
        # costs less than parsing every notice: a mass revocation must not stall the next request.
        self._max_backlog = max_backlog
        # A pong proves every notice sent before its PING has arrived. Local values are trusted only
        # while the last answered PING was sent less than a heartbeat ago (not when its pong was read:
        # a pong may wait in the socket buffer of an idle worker), so even a connection that dies
        # silently leaves them stale for at most that long; a PING unanswered for two heartbeats drops it.
        self._heartbeat, self._retry_after = heartbeat, retry_after
        self._lock = threading.Lock()
        self._entries: dict[str, str | None] = {}
        # Bumped by every notice: a value read from Redis is kept only if no notice arrived meanwhile.
        self._generation = 0
        self._connections: list[redis.Connection] = []
        self._poller: select.poll | None = None
        self._pid = os.getpid()
        self._confirmed_at = self._next_attempt = 0.0
        self._ping_sent: float | None = None
        self._pongs_awaited = 0

    def mget(self, *keys: str) -> list[str | None]:
        """The values of `keys`, from the local copy when every one is there, else from Redis."""
        with self._lock:
            tracking = self._sync()
            if tracking:
                values = [self._entries.get(key, _MISSING) for key in keys]
                if _MISSING not in values:
                    return values
            generation = self._generation
        values = self._read(keys)
        if tracking:
            with self._lock:
                if generation == self._generation and self._connections:
                    if len(self._entries) + len(keys) > self._max_entries:
                        self._entries.clear()
                    self._entries.update(zip(keys, values, strict=True))
        return values

    def _read(self, keys: Sequence[str]) -> list[str | None]:
        """The keys' values from Redis: one MGET, or on a cluster one MGET per hash slot they fall in."""
        client = self._client
        if isinstance(client, redis.RedisCluster) and len({client.keyslot(key) for key in keys}) > 1:
            return client.mget_nonatomic(keys)
        return client.mget(keys)

    def _sync(self) -> bool:
        """Apply every notice waiting on the tracking connection; whether the local copy can be trusted."""
        if self._trackers is None:
            return False
        if self._pid != os.getpid():  # a forked child must not share its parent's sockets
            self._pid, self._connections, self._poller = os.getpid(), [], None
            self._entries.clear()
        now = time.monotonic()
        if not self._connections and not self._start_tracking(now):
            return False
        try:
            backlog = 0
            while waiting := self._waiting():
                for connection in waiting:
                    backlog += self._apply(connection.read_response())
                if backlog > self._max_backlog:
                    raise redis.ConnectionError(f"over {self._max_backlog} keys changed at once; starting over")
            if self._ping_sent is None and now - self._confirmed_at > self._heartbeat / 2:
                for connection in self._connections:
                    connection.send_command("PING")
                self._ping_sent, self._pongs_awaited = now, len(self._connections)
            elif self._ping_sent is not None and now - self._ping_sent > 2 * self._heartbeat:
                raise redis.ConnectionError("a tracking connection stopped answering")
        except (redis.RedisError, OSError) as error:
            log.warning("Redis client-side cache off until tracking is back: %s", error)
            self._lose_tracking()
            return False
        return time.monotonic() - self._confirmed_at < self._heartbeat

    def _waiting(self) -> list[redis.Connection]:
        """The tracking connections with a message waiting (or closed), without blocking."""
        # redis-py's `can_read(0)` costs three system calls and an exception (set a zero timeout, try a
        # recv, restore the timeout); one poll of every socket costs one, once their parsers' buffers are empty.
        # `_parser._buffer` and `_sock` are redis-py's private names: see movies_auth.library_seams.
        ready = {descriptor for descriptor, _ in self._poller.poll(0)}
        waiting = []
        for connection in self._connections:
            buffered = getattr(connection._parser, "_buffer", None)
            if buffered is None or buffered.unread_bytes():
                if connection.can_read(timeout=0):
                    waiting.append(connection)
            elif connection._sock.fileno() in ready:
                waiting.append(connection)
        return waiting

    def _apply(self, message: list) -> int:
        """Apply one message from a tracking connection; how many keys it named."""
        kind = message[0]
        if kind == "pong" and self._ping_sent is not None:
            self._pongs_awaited -= 1
            if not self._pongs_awaited:  # every primary has answered: every notice before the PINGs is in
                self._confirmed_at, self._ping_sent = self._ping_sent, None
        elif kind == "message" and message[1] == INVALIDATION_CHANNEL:
            self._generation += 1
            if message[2] is None:  # FLUSHDB / FLUSHALL: everything may have changed
                self._entries.clear()
                return 1
            for key in message[2]:
                self._entries.pop(key, None)
            return len(message[2])
        return 0

    def _start_tracking(self, now: float) -> bool:
        if now < self._next_attempt:  # Redis refused us a moment ago: do not ask on every read
            return False
        prefixes = [part for prefix in self._prefixes for part in ("PREFIX", prefix)]
        connections: list[redis.Connection] = []
        try:
            for tracker in self._trackers():
                connection = tracker.connection_pool.make_connection()
                connections.append(connection)
                connection.connect()
                connection.send_command("CLIENT", "ID")
                client_id = connection.read_response()
                connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", *prefixes)
                connection.read_response()
                connection.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
                connection.read_response()
        except (redis.RedisError, OSError) as error:
            log.warning("Redis client-side cache off: cannot start tracking: %s", error)
            for connection in connections:
                connection.disconnect()
            self._next_attempt = now + self._retry_after
            return False
        # Values read before tracking began were never watched.
        self._entries.clear()
        self._generation += 1
        self._connections = connections
        self._poller = select.poll()
        for connection in connections:
            self._poller.register(connection._sock, select.POLLIN)
        self._confirmed_at, self._ping_sent = now, None
        return True

    def _lose_tracking(self) -> None:
        for connection in self._connections:
            connection.disconnect()
        self._connections, self._poller = [], None
        self._entries.clear()
        self._generation += 1
