"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from movies_auth.cli import register_commands
from movies_auth.domain import key_ring, oauth_providers, passwords, tokens
from movies_auth.extensions import db, jwt, limiter, migrate, redis_store
from movies_auth.observability import tracing
from movies_auth.observability.logging_setup import configure_logging
from movies_auth.observability.request_context import ROUTE_ENVIRON_KEY, RequestScope
from movies_auth.observability.request_metrics import RequestMetrics
from movies_auth.settings import Settings
from movies_auth.stores import redis_keys
from movies_auth.stores.read_replica import read_replica
from movies_auth.web import apidocs, errors
from movies_auth.web.fast_checks import FastChecks
from movies_auth.web.views import (
    account_email,
    checks,
    grants,
    health,
    index,
    metrics,
    oauth,
    permissions,
    roles,
    sessions,
    signing_keys,
    users,
)
from movies_auth.web.views import tokens as token_views

MIGRATIONS_DIRECTORY = Path(__file__).with_name("migrations")


class MoviesAuth(Flask):
    """Flask, remembering which of its views and hooks are synchronous.

    Flask asks `inspect` whether a view or hook is a coroutine function each time it calls one: eight
    times a request here, a tenth of what a token check costs. The answer never changes for a function.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synchronous: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        """`func`, or a synchronous wrapper of it when it is a coroutine function; decided once per function."""
        try:
            return self._synchronous[func]
        except KeyError:
            if len(self._synchronous) > 10_000:  # never, unless callables are made per request
                self._synchronous.clear()
            wrapped = self._synchronous[func] = super().ensure_sync(func)
            return wrapped
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)

    def full_dispatch_request(self) -> Response:
        """Dispatch, having named the matched route's template for the metrics and the trace (`route_of`)."""
        rule = request.url_rule
        if rule is not None:
            request.environ[ROUTE_ENVIRON_KEY] = rule.rule
        return super().full_dispatch_request()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (by default, from the environment and `.env`)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)

    instance_path = str(settings.instance_path.resolve()) if settings.instance_path else None
    app = MoviesAuth("movies_auth", instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.extensions["settings"] = settings
    app.config.update(_flask_config(app, settings))
    db.init_app(app)
    read_replica.init_app(app, settings, app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIRECTORY), render_as_batch=True)
    redis_store.init_app(app, settings)
    passwords.init_app(app, settings)
    oauth_providers.init_app(app, settings)
    app.extensions["service_secret_key"] = settings.service_secret_key(app.instance_path)
    _init_key_ring(app, settings)
    jwt.init_app(app)
    # Rate-limit counters live in the service's Redis, embedded or real, one server, Sentinel or cluster alike.
    app.config["RATELIMIT_STORAGE_URI"], app.config["RATELIMIT_STORAGE_OPTIONS"] = redis_store.limiter_storage(
        app, settings
    )
    limiter.init_app(app)

    errors.register_error_handlers(app)
    blueprints = (
        users.bp,
        account_email.bp,
        sessions.bp,
        token_views.bp,
        oauth.bp,
        token_views.service_bp,
        checks.bp,
        permissions.bp,
        roles.bp,
    )
    for blueprint in (*blueprints, grants.bp, signing_keys.bp, health.bp, index.bp, metrics.bp):
        app.register_blueprint(blueprint)
    apidocs.init_app(app)
    register_commands(app)
    _wrap_wsgi_app(app, settings)
    return app


def _wrap_wsgi_app(app: Flask, settings: Settings) -> None:
    """Outermost first: proxy headers unwrapped, the trace's server span, the request id and access line, the
    request metrics, then the fast checks. The span encloses the access line, so that line carries its ids."""
    wsgi_app = FastChecks(app, app.wsgi_app) if settings.fast_checks else app.wsgi_app
    if settings.metrics_enabled:
        wsgi_app = RequestMetrics(app, wsgi_app)
    app.wsgi_app = tracing.instrument(app, RequestScope(wsgi_app))
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _init_key_ring(app: Flask, settings: Settings) -> None:
    if settings.jwt_algorithm == "HS256":
        app.config["JWT_SECRET_KEY"] = settings.jwt_secret(app.instance_path)
        return
    folder = settings.key_ring_folder(app.instance_path)
    key_ring.ensure_signing_key(folder, settings.jwt_algorithm)
    app.extensions["key_ring"] = key_ring.KeyRing(folder, settings.jwt_algorithm)


@jwt.token_in_blocklist_loader
def _token_is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    return tokens.is_revoked(payload)


@jwt.revoked_token_loader
def _revoked_token(_header: dict[str, Any], payload: dict[str, Any]) -> Response:
    return errors.error_response(401, tokens.revocation_message(payload))


def _flask_config(app: Flask, settings: Settings) -> dict[str, Any]:
    database_url = settings.sqlalchemy_url(app.instance_path)
    if database_url.startswith("sqlite"):
        engine_options: dict[str, Any] = {"connect_args": {"timeout": 30}}
    else:
        engine_options = {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 10,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": settings.database_connect_timeout},
        }
    return {
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "JWT_ALGORITHM": settings.jwt_algorithm,
        "JWT_TOKEN_LOCATION": ["headers"],
        # Bearer headers only: no cookie CSRF claim, and `nbf` would only repeat `iat`. Every service
        # sends the token on every request, and every byte of it is parsed there and here.
        "JWT_COOKIE_CSRF_PROTECT": False,
        "JWT_ENCODE_NBF": False,
        "JWT_ACCESS_TOKEN_EXPIRES": settings.jwt_access_token_expires,
        "JWT_REFRESH_TOKEN_EXPIRES": settings.jwt_refresh_token_expires,
        "RATELIMIT_ENABLED": settings.rate_limits_enabled,
        "RATELIMIT_KEY_PREFIX": redis_keys.RATE_LIMIT_PREFIX,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STRATEGY": "fixed-window",
    }


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite enforces foreign keys (and so ON DELETE CASCADE) only when asked, per connection;
    # WAL lets readers go on while one worker writes.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
