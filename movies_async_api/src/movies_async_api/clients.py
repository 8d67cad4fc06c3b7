"""The service's outside connections, built from settings: Redis, and the HTTP client to movies_auth."""

from __future__ import annotations

import logging

import httpx
from fakeredis import FakeAsyncRedis
from redis.asyncio import Redis, RedisCluster

from movies_async_api import redis_connection
from movies_async_api.auth_client import AuthClient
from movies_async_api.breaker import CircuitBreaker
from movies_async_api.public_keys import PublicKeys
from movies_async_api.service_token import ServiceToken
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


def connect_auth(settings: Settings) -> AuthClient:
    """A client to movies_auth over one pooled HTTP connection set, behind its circuit breaker, as this service."""
    http = httpx.AsyncClient(
        base_url=settings.auth_service_url,
        timeout=httpx.Timeout(settings.auth_read_timeout, connect=settings.auth_connect_timeout),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
    )
    breaker = CircuitBreaker("movies_auth", settings.auth_failure_threshold, settings.auth_cooldown)
    service_token = None
    if settings.auth_service_secret:
        secret = settings.auth_service_secret.get_secret_value()
        service_token = ServiceToken(http, settings.auth_service_name, secret)
    else:
        logger.warning("AUTH_SERVICE_SECRET is unset: movies_auth will not answer, every caller is anonymous")
    public_keys = PublicKeys(http) if settings.auth_verify_tokens_locally else None
    return AuthClient(http, breaker, settings.auth_answer_ttl, service_token=service_token, public_keys=public_keys)
