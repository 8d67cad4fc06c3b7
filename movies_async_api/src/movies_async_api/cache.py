"""The response cache in Redis: a speed-up that the API can always do without."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from movies_async_api import redis_keys

logger = logging.getLogger(__name__)


class ResponseCache:
    """Serialized answers with a TTL; a Redis error is logged and treated as a miss."""

    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def get(self, key: str) -> bytes | None:
        """The cached body, or None."""
        if not self.ttl:
            return None
        try:
            return await self.redis.get(key)
        except (RedisError, OSError) as error:
            logger.warning("response cache unavailable: %s", error)
            return None

    async def put(self, key: str, body: bytes) -> None:
        """Keep `body` for the TTL."""
        if not self.ttl:
            return
        try:
            await self.redis.set(key, body, ex=self.ttl)
        except (RedisError, OSError) as error:
            logger.warning("response cache unavailable: %s", error)

    async def clear(self) -> int:
        """Drop every cached answer, e.g. after the catalogue changed, and tell every worker to drop its own
        copies; returns how many were dropped here."""
        dropped = 0
        async for batch in _batches(self.redis.scan_iter(match=f"{redis_keys.RESPONSE_PREFIX}*", count=1000)):
            dropped += await self.redis.unlink(*batch)
        await self.redis.publish(redis_keys.CATALOGUE_CHANGED, "cleared")
        return dropped


async def _batches(keys, size: int = 1000):
    batch = []
    async for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
