"""Whether the stores the service needs (the database and the cache's Redis) answer."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def check_stores(engine: AsyncEngine, redis: Redis) -> dict[str, str]:
    """Probe both once: `{"database": "ok" | "unavailable", "redis": ...}`."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # whatever the failure, the store is not usable
        checks["database"] = "unavailable"
    try:
        await redis.ping()
    except Exception:
        checks["redis"] = "unavailable"
    return checks
