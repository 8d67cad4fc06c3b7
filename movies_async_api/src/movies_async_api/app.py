"""The application factory: settings in, a FastAPI app out, its clients opened and closed by the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from movies_async_api import tracing
from movies_async_api.api.router import api_router
from movies_async_api.api.routes import health, index, metrics
from movies_async_api.cache import ResponseCache
from movies_async_api.clients import connect_auth, connect_redis
from movies_async_api.database import create_engine
from movies_async_api.docs import OPENAPI_URL, document_optional_auth, document_query_aliases, mount_docs
from movies_async_api.errors import register_error_handlers
from movies_async_api.fast_path import AnswerFastPath
from movies_async_api.http_metrics import HttpMetricsMiddleware
from movies_async_api.local_answers import LocalAnswers, follow_catalogue_changes, stop_following
from movies_async_api.logging_setup import configure_logging
from movies_async_api.read_replica import CatalogueReader
from movies_async_api.request_context import RequestContextMiddleware
from movies_async_api.services.films import FilmService
from movies_async_api.services.genres import GenreService
from movies_async_api.services.persons import PersonService
from movies_async_api.settings import Settings

DESCRIPTION = """
Films, genres and persons of the online cinema.

Films rated above 7.0 are for callers whose access token (from movies_auth) holds `pro_read`; everyone
else sees the rest. Send the token as `Authorization: Bearer <token>`. If movies_auth cannot be reached,
the API still answers, as to an anonymous caller, with the header `X-Auth-Degraded: 1`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database pool, Redis and the auth client for the app's life, and close them after."""
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    tracing.instrument_engine(engine)
    redis = connect_redis(settings)
    auth = connect_auth(settings)
    app.state.engine = engine
    app.state.cache = ResponseCache(redis, settings.response_cache_ttl)
    # No answer is kept in memory when none is kept in Redis.
    local_ttl = settings.response_local_cache_ttl if settings.response_cache_ttl else 0
    app.state.local_answers = LocalAnswers(local_ttl, settings.response_local_cache_bytes)
    app.state.auth = auth
    replica = create_engine(settings, replica=True) if settings.database_replica_url else None
    catalogue = CatalogueReader(engine, replica)
    app.state.films = FilmService(catalogue)
    app.state.genres = GenreService(catalogue)
    app.state.persons = PersonService(catalogue)
    answers = app.state.local_answers
    listeners = [asyncio.create_task(follow_catalogue_changes(redis, answers))] if answers.enabled else []
    await auth.start()
    try:
        yield
    finally:
        for listener in listeners:
            await stop_following(listener)
        await auth.aclose()
        await redis.aclose()
        await catalogue.dispose()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the movies API; settings default to the environment's."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Movies API",
        version=version("movies-async-api"),
        description=DESCRIPTION,
        docs_url=None,
        openapi_url=OPENAPI_URL,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(health.router, prefix="/api")
    app.include_router(index.router)
    app.include_router(metrics.router, prefix="/api")
    mount_docs(app)
    document_optional_auth(app)
    document_query_aliases(app)
    # Inside the request context, so that a fast answer carries its request id and is logged like any other; and
    # inside the metrics, so that it is counted under its route like any other.
    app.add_middleware(AnswerFastPath)
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    register_error_handlers(app)
    # Outermost, so the server span encloses the request id's scope and the access line carries its ids.
    tracing.instrument_app(app)
    return app
