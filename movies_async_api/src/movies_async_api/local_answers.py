"""Answers kept in this worker's memory for a moment, in front of the Redis response cache.

Each worker keeps its own. A catalogue load publishes on a Redis channel after clearing the Redis cache; every
worker listens and clears its own, and serves nothing from it while it is not listening.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from movies_async_api import redis_connection, redis_keys
from movies_async_api.visibility import Access

logger = logging.getLogger(__name__)

# What one entry costs beyond its key and body: the tuple, the dataclass and the cache's own bookkeeping.
ENTRY_OVERHEAD_BYTES = 400
# How long a listener waits for a message before checking its connection again.
LISTEN_POLL_SECONDS = 1.0
RECONNECT_DELAY_SECONDS = 1.0

AnswerKey = tuple[Access, str, bytes]


def answer_key(access: Access, path: str, query_string: bytes) -> AnswerKey:
    """An answer's key: the access level first, so levels never share one; then the path and the raw query."""
    return access, path, query_string


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A whole answer as the route sent it: status, raw headers and body bytes; and the route that made it."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    size: int
    route: Any = None


class LocalAnswers:
    """A byte-bounded TTL cache of whole answers; empty and unused while `listening` is false."""

    def __init__(self, ttl: float, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = ttl > 0 and max_bytes > 0
        self.listening = False
        # Bumped by every clear, so an answer computed before a catalogue change is never stored after it.
        self.generation = 0
        self._entries: TTLCache[AnswerKey, StoredAnswer] = TTLCache(
            maxsize=max(max_bytes, 1), ttl=ttl, timer=clock, getsizeof=lambda answer: answer.size
        )

    @property
    def serving(self) -> bool:
        """Whether answers are kept and may be sent: turned on, and hearing of catalogue changes."""
        return self.enabled and self.listening

    def get(self, key: AnswerKey) -> StoredAnswer | None:
        """The stored answer, or None."""
        if not self.serving:
            return None
        return self._entries.get(key)

    def put(
        self,
        key: AnswerKey,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        generation: int,
        route: Any = None,
    ) -> None:
        """Keep an answer computed while the cache was at `generation`; one larger than the bound is not kept."""
        if not self.serving or generation != self.generation:
            return
        size = len(key[1]) + len(key[2]) + sum(len(n) + len(v) for n, v in headers) + len(body) + ENTRY_OVERHEAD_BYTES
        if size <= self._entries.maxsize:
            self._entries[key] = StoredAnswer(status, tuple(headers), body, size, route)

    def clear(self) -> None:
        """Forget every answer (the catalogue changed, or a change may have gone unheard)."""
        self.generation += 1
        self._entries.clear()

    @property
    def stored_bytes(self) -> int:
        """What the entries count for against the bound."""
        return int(self._entries.currsize)


async def follow_catalogue_changes(redis: Redis, answers: LocalAnswers) -> None:
    """Clear `answers` whenever a catalogue change is announced; serve from it only while subscribed."""
    failures = 0
    while True:
        try:
            async with await redis_connection.pubsub(redis) as pubsub:
                await pubsub.subscribe(redis_keys.CATALOGUE_CHANGED)
                answers.clear()  # a change may have come while nobody listened
                answers.listening = True
                if failures > 1:
                    logger.info("hearing of catalogue changes again")
                failures = 0
                await _listen(pubsub, answers)
        except (RedisError, OSError) as error:
            failures += 1
            # The connection uses the request path's short timeouts, which a busy machine can miss once; nothing
            # is served stale meanwhile, so only a second failure in a row is worth a warning, and only once.
            level = logging.WARNING if failures == 2 else logging.INFO
            logger.log(level, "not hearing of catalogue changes (%s); answers come from Redis until it answers", error)
        finally:
            answers.listening = False
            answers.clear()
        await asyncio.sleep(RECONNECT_DELAY_SECONDS)


async def stop_following(listener: asyncio.Task) -> None:
    """Cancel a `follow_catalogue_changes` task and wait until it has ended."""
    # A cancellation that lands as redis-py's read timeout fires is taken for the timeout and lost, so it is sent
    # again until the task has ended.
    while not listener.done():
        listener.cancel()
        await asyncio.wait({listener}, timeout=0.1)


async def _listen(pubsub, answers: LocalAnswers) -> None:
    """Clear `answers` on each announcement; a quiet channel is pinged, so a dead connection is not mistaken
    for one on which nothing happens."""
    pinged = False
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=LISTEN_POLL_SECONDS)
        if message is None:
            if pinged:
                raise ConnectionError("Redis did not answer a ping")
            await pubsub.ping()
            pinged = True
        elif message["type"] == "pong":
            pinged = False
        else:
            answers.clear()
