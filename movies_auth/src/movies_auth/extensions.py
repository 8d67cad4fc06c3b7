"""Flask extensions, created unbound here and bound to the app in `create_app`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, Response, current_app, request
from flask.globals import request_ctx
from flask_limiter import Limiter, RequestLimit
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from movies_auth.domain import audit
from movies_auth.hotpath.client_cache import ClientSideCache
from movies_auth.hotpath.jwt_manager import JWTManager
from movies_auth.observability.request_context import client_ip
from movies_auth.settings import Settings
from movies_auth.stores import embedded_redis, redis_connection, redis_keys
from movies_auth.stores.redis_connection import RedisDeployment

RETRY_AFTER = "Retry-After"
RETRY_AFTER_STATUSES = (429, 503)


class Base(DeclarativeBase):
    """Declarative base whose constraint names are predictable, so migrations can name them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class RedisStore:
    """The service's Redis client: a real server when `REDIS_URL` is set, else the embedded one.

    `cache` reads the keys every check needs through a per-process copy kept exact by Redis; the
    embedded Redis lives in this process already, so there it reads straight through.
    """

    def init_app(self, app: Flask, settings: Settings) -> None:
        """Create the app's client and its client-side cache; both kinds speak the same redis-py API."""
        trackers = None
        if settings.redis_url:
            options = {
                "decode_responses": True,
                "socket_timeout": settings.redis_socket_timeout,
                "socket_connect_timeout": settings.redis_socket_timeout,
                # One immediate retry replaces a pooled connection a Redis restart has closed; a
                # stalled Redis is not retried (redis-py's default would retry ten times with backoff),
                # so a check that cannot reach it fails within one socket timeout.
                "retry": Retry(NoBackoff(), retries=1, supported_errors=(redis.ConnectionError,)),
            }
            deployment = RedisDeployment(settings.redis_url, options)
            client = deployment.client(health_check_interval=30)
            if settings.redis_client_cache:
                # RESP2: invalidation notices then arrive as plain pub/sub messages on their own connection.
                trackers = functools.partial(deployment.tracking_clients, client)
        else:
            client = embedded_redis.connect(app.instance_path, settings.redis_socket_timeout)
        app.extensions["redis"] = client
        app.extensions["redis_cache"] = ClientSideCache(client, redis_keys.CLIENT_CACHED_PREFIXES, trackers)

    def limiter_storage(self, app: Flask, settings: Settings) -> tuple[str, dict[str, Any]]:
        """Flask-Limiter's storage URI and options: the app's own connection pool, or on a cluster the same URL."""
        client = app.extensions["redis"]
        if isinstance(client, redis.RedisCluster):
            timeout = settings.redis_socket_timeout
            # Flask-Limiter merges the storage options of every app built in one process (tests build many):
            # no pool of an earlier app's may reach the cluster's nodes.
            return settings.redis_url, {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                                        "connection_pool": None}  # fmt: skip
        # A Sentinel-managed pool finds the new primary after a failover, for the counters too.
        return "redis://", {"connection_pool": client.connection_pool}

    def run_acknowledged(self, script: str, keys: list[str], args: list[object]) -> Any:
        """Run a revoking script, answering only once the replicas a failover promotes have its write."""
        settings = current_settings()
        return redis_connection.run_acknowledged(
            self.client, script, keys, args, replicas=settings.redis_replica_acks,
            timeout_ms=int(settings.redis_replica_ack_timeout * 1000),
        )  # fmt: skip

    @property
    def client(self) -> redis.Redis:
        """The current app's client."""
        return current_app.extensions["redis"]

    @property
    def cache(self) -> ClientSideCache:
        """The current app's client-side cache of the hot keys."""
        return current_app.extensions["redis_cache"]


class RouteLimiter(Limiter):
    """Flask-Limiter for limits declared on routes only: other routes never reach the limiter.

    Flask-Limiter checks every request before its view, for application-wide and default limits.
    This service has none (each limit is declared on its route, where its decorator checks it), and
    that check alone cost as much as a whole token validation, a route every other service calls on
    every request. So do not configure default or application limits here: they would not apply.
    """

    # Private names of Flask-Limiter and Flask, held by their pins: see movies_auth.library_seams.
    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if not in_middleware:
            super()._check_request_limit(callable_name, in_middleware)

    def init_app(self, app: Flask) -> None:
        """Flask-Limiter's `init_app`, its after-request and teardown hooks run only where a limit was checked."""
        super().init_app(app)
        # Those hooks build and read Flask-Limiter's per-request state on every request; a request whose
        # route has no limit never made that state, and has no headers to add nor state to reset.
        after = app.after_request_funcs[None]
        after[:] = [_headers_where_limited(hook) if _belongs_to(hook, self) else hook for hook in after]
        teardown = app.teardown_request_funcs[None]
        teardown[:] = [_only_where_limited(hook) if _belongs_to(hook, self) else hook for hook in teardown]


def _belongs_to(hook: Callable, limiter: Limiter) -> bool:
    bound_to = hook.args[0] if isinstance(hook, functools.partial) and hook.args else getattr(hook, "__self__", None)
    return bound_to is limiter


def _only_where_limited(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def hook_where_limited(value: Any) -> Any:
        if hasattr(request_ctx, "_limiter_request_context"):  # made by Flask-Limiter's first look
            return hook(value)
        return value  # the response, for an after-request hook

    return hook_where_limited


def _headers_where_limited(hook: Callable[[Response], Response]) -> Callable[[Response], Response]:
    """Flask-Limiter's header hook, where a limit was checked, with `Retry-After` on 429 and 503 answers only.

    Flask-Limiter sets `Retry-After` on every answer, and on a refusal of ours (a login that must wait)
    raises it to its own window's end; a refusal's own `Retry-After` is the one that knows the wait.
    """
    limited = _only_where_limited(hook)

    def add_headers(response: Response) -> Response:
        own = response.headers.get(RETRY_AFTER)
        response = limited(response)
        if response.status_code not in RETRY_AFTER_STATUSES:
            response.headers.pop(RETRY_AFTER, None)
        elif own is not None:
            response.headers[RETRY_AFTER] = own
        return response

    return add_headers


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()


def _audit_breach(breach: RequestLimit) -> None:
    audit.record("rate_limited", warning=True, limit=breach.limit, ip=client_ip(), path=request.path)


limiter = RouteLimiter(key_func=client_ip, on_breach=_audit_breach)
redis_store = RedisStore()


def current_settings() -> Settings:
    """The settings of the app handling the current request or command."""
    return current_app.extensions["settings"]
