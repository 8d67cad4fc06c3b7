"""The service's outside connections, built from settings: Redis, and the client to movies_auth."""

from __future__ import annotations

import logging

from fakeredis import FakeAsyncRedis
from movies_auth_client import AsyncAuthClient
from redis.asyncio import Redis, RedisCluster

from movies_async_api import redis_connection
from movies_async_api.metrics import AuthCallMetrics
from movies_async_api.settings import Settings

logger = logging.getLogger(__name__)


def connect_redis(settings: Settings) -> Redis | RedisCluster:
    """The configured Redis, or an in-process one (the embedded default; each worker has its own cache)."""
    if not settings.redis_url:
        return FakeAsyncRedis()
    return redis_connection.connect(
        settings.redis_url,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
    )


def connect_auth(settings: Settings) -> AsyncAuthClient:
    """The client to movies_auth (movies_auth_client), as this service, behind its circuit breaker."""
    credentials = {}
    if settings.auth_service_secret:
        credentials = {
            "service_name": settings.auth_service_name,
            "service_secret": settings.auth_service_secret.get_secret_value(),
        }
    else:
        logger.warning("AUTH_SERVICE_SECRET is unset: movies_auth will not answer, every caller is anonymous")
    return AsyncAuthClient(
        settings.auth_service_url,
        timeout=settings.auth_read_timeout,
        connect_timeout=settings.auth_connect_timeout,
        service_token_timeout=settings.auth_service_token_timeout,
        answer_ttl=settings.auth_answer_ttl,
        failure_threshold=settings.auth_failure_threshold,
        cooldown=settings.auth_cooldown,
        verify_locally=settings.auth_verify_tokens_locally,
        observer=AuthCallMetrics(),
        **credentials,
    )
