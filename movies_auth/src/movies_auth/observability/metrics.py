"""The Prometheus series of movies_auth, and their exposition for `GET /auth/metrics`.

Under gunicorn every worker writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (the gunicorn config
makes a fresh one per start) and the worker that answers a scrape adds them all up. Labels are route
templates and fixed vocabularies only: no path, user id or client-chosen string ever becomes a label value.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

# Methods outside this set (anything a client types) share one label value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Finer than the client's default at the low end: a token check is answered in well under a millisecond.
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
LOGINS = Counter("movies_auth_logins", "Password logins by outcome", ["outcome"], registry=REGISTRY)
SOCIAL_LOGINS = Counter(
    "movies_auth_social_logins",
    "Social sign-ins by configured provider and outcome",
    ["provider", "outcome"],
    registry=REGISTRY,
)
LOGIN_LOCKOUTS = Counter(
    "movies_auth_login_lockouts", "Logins refused because the account's failures must wait", registry=REGISTRY
)
REFRESH_REUSE = Counter(
    "movies_auth_refresh_reuse_detected", "Refresh tokens re-used: their whole session ended", registry=REGISTRY
)
TOKEN_CHECKS = Counter(
    "movies_auth_token_checks", "Token validations other services asked for", ["outcome"], registry=REGISTRY
)
PERMISSION_CHECKS = Counter(
    "movies_auth_permission_checks", "Permission checks by outcome", ["outcome"], registry=REGISTRY
)

PERMISSION_GRANTED = PERMISSION_CHECKS.labels("granted")
PERMISSION_DENIED = PERMISSION_CHECKS.labels("denied")


def exposition() -> tuple[bytes, str]:
    """Every series in the text format, summed over all workers when running under gunicorn; and its media type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def count_permission_verdict(valid: bool) -> None:
    """Count an answered permission check."""
    (PERMISSION_GRANTED if valid else PERMISSION_DENIED).inc()
