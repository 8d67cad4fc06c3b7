"""The Prometheus series of the movies API, and their exposition for `GET /api/metrics`.

Under gunicorn every worker writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (the gunicorn config
makes a fresh one per start) and the worker that answers a scrape adds them all up. Labels are route
templates and fixed vocabularies only: no path, film id or client-chosen string ever becomes a label value.
"""

from __future__ import annotations

import os

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from movies_async_api.breaker import State

# Methods outside this set (anything a client types) share one label value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Finer than the client's default at the low end: a cached answer takes well under a millisecond.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("http_requests", "HTTP requests answered", ["method", "route", "status"])
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"], buckets=LATENCY_BUCKETS
)
AUTH_CALLS = Counter("movies_api_auth_calls", "Calls to movies_auth by operation and outcome", ["operation", "outcome"])
# The worst state among live workers: each worker has its own breaker.
AUTH_BREAKER_STATE = Gauge(
    "movies_api_auth_breaker_state",
    "The circuit breaker in front of movies_auth: 0 closed, 1 half-open, 2 open",
    multiprocess_mode="livemax",
)
BREAKER_STATE_VALUES = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}
RESPONSE_CACHE = Counter("movies_api_response_cache_lookups", "Response cache lookups by result", ["result"])
RESPONSE_CACHE_HIT = RESPONSE_CACHE.labels("hit")
RESPONSE_CACHE_MISS = RESPONSE_CACHE.labels("miss")


def exposition() -> tuple[bytes, str]:
    """Every series in the text format, summed over all workers when running under gunicorn; and its media type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_breaker(state: State) -> None:
    """Record where this worker's breaker in front of movies_auth stands."""
    AUTH_BREAKER_STATE.set(BREAKER_STATE_VALUES[state])


def observe_cache_lookup(hit: bool) -> None:
    """Count one response cache lookup."""
    (RESPONSE_CACHE_HIT if hit else RESPONSE_CACHE_MISS).inc()


def auth_operation(path: str) -> str:
    """What a call to movies_auth at `path` does, as a label: never the path, which holds a user id."""
    if path.endswith("/validation"):
        return "permission_check"
    if "service_token" in path:
        return "service_token"
    if "jwks" in path:
        return "public_keys"
    return "other"


def call_outcome(status_code: int) -> str:
    """A call's outcome by the status movies_auth answered."""
    if status_code < 400:
        return "success"
    return "refused" if status_code < 500 else "error"


class CountedAuthTransport(httpx.AsyncBaseTransport):
    """An HTTP transport to movies_auth that counts each call by operation and outcome."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Make the call through the wrapped transport, and count how it went."""
        operation = auth_operation(request.url.path)
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.TimeoutException:
            AUTH_CALLS.labels(operation, "timeout").inc()
            raise
        except httpx.TransportError:
            AUTH_CALLS.labels(operation, "unreachable").inc()
            raise
        AUTH_CALLS.labels(operation, call_outcome(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()
