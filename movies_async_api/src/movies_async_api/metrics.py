"""The Prometheus series of the movies API, and their exposition for `GET /api/metrics`.

Under gunicorn every worker writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (the gunicorn config
makes a fresh one per start) and the worker that answers a scrape adds them all up. Labels are route
templates and fixed vocabularies only: no path, film id or client-chosen string ever becomes a label value.
"""

from __future__ import annotations

import os

from movies_auth_client import BreakerState, Call, Outcome
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

# Methods outside this set (anything a client types) share one label value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Finer than the client's default at the low end: a cached answer takes well under a millisecond.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The service's own registry, not the process-wide default: both services' series share names, and a tool may
# import both (the docs' CLI reference does).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

REQUESTS = Counter("http_requests", "HTTP requests answered", ["method", "route", "status"], registry=REGISTRY)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
AUTH_CALLS = Counter(
    "movies_api_auth_calls",
    "Calls to movies_auth by operation and outcome (cached and short-circuited ones send nothing)",
    ["operation", "outcome"],
    registry=REGISTRY,
)
# The worst state among live workers: each worker has its own breaker.
AUTH_BREAKER_STATE = Gauge(
    "movies_api_auth_breaker_state",
    "The circuit breaker in front of movies_auth: 0 closed, 1 half-open, 2 open",
    multiprocess_mode="livemax",
    registry=REGISTRY,
)
BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
RESPONSE_CACHE = Counter(
    "movies_api_response_cache_lookups", "Response cache lookups by result", ["result"], registry=REGISTRY
)
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


def observe_cache_lookup(hit: bool) -> None:
    """Count one response cache lookup."""
    (RESPONSE_CACHE_HIT if hit else RESPONSE_CACHE_MISS).inc()


class AuthCallMetrics:
    """movies_auth_client's observer: its calls to movies_auth and its breaker, as Prometheus series."""

    def __init__(self) -> None:
        self.breaker_changed(BreakerState.CLOSED)  # a new client's breaker starts closed

    def call_finished(self, call: Call, outcome: Outcome, seconds: float) -> None:
        """Count one call (or one answered without a call) by operation and outcome."""
        AUTH_CALLS.labels(call.value, outcome.value).inc()

    def token_verified(self, outcome: Outcome) -> None:
        """Local verifications are not counted: they never leave the worker."""

    def breaker_changed(self, state: BreakerState) -> None:
        """Record where this worker's breaker in front of movies_auth stands."""
        AUTH_BREAKER_STATE.set(BREAKER_STATE_VALUES[state])
