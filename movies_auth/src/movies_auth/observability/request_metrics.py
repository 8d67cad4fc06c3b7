"""WSGI middleware: counts and times every request by route template and status, Flask's and the fast checks' alike.

The login and the two check routes are also counted by outcome, read from the status they answered: the
same answer a client gets, so the series cannot disagree with what callers saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from flask import Flask
from prometheus_client import Counter, Histogram

from movies_auth.observability import metrics
from movies_auth.observability.request_context import route_of

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Outcome by status per route; a status not listed is "rejected" (4xx) or "error" (5xx). A None outcome is
# counted elsewhere: a 200 permission check is granted or denied, which only its body says.
LOGIN_OUTCOMES = {"200": "success", "401": "invalid_credentials", "429": "throttled"}
TOKEN_CHECK_OUTCOMES = {"200": "valid", "401": "invalid", "422": "invalid", "403": "forbidden"}
PERMISSION_CHECK_OUTCOMES = {"200": None, "401": "invalid_token", "403": "forbidden", "404": "unknown_user"}


def outcome(outcomes: dict[str, str | None], status: str) -> str | None:
    """The outcome a route's `status` stands for."""
    if status in outcomes:
        return outcomes[status]
    return "error" if status.startswith("5") else "rejected"


class _Series(NamedTuple):
    """The labelled children one kind of answer moves: its count, its duration, and its outcome when it has one."""

    requests: Counter
    duration: Histogram
    outcome: Counter | None


class RequestMetrics:
    """Observes each request into `http_requests_total` and `http_request_duration_seconds`."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app
        rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
        self._outcomes: dict[str, tuple[Counter, dict[str, str | None]]] = {
            rules["tokens.login"]: (metrics.LOGINS, LOGIN_OUTCOMES),
            rules["tokens.validate"]: (metrics.TOKEN_CHECKS, TOKEN_CHECK_OUTCOMES),
            rules["checks.validate"]: (metrics.PERMISSION_CHECKS, PERMISSION_CHECK_OUTCOMES),
        }
        # Resolving labels costs more than the increments themselves; the keys are bounded, as the labels are:
        # known methods, route templates and the statuses the app answers.
        self._series: dict[tuple[str, str, str], _Series] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request, then count it under the route that answered."""
        started = time.perf_counter()
        status = "500"  # what the server answers if the app raises

        def start_counted(
            status_line: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal status
            status = status_line[:3]
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_counted)
        finally:
            self._observe(environ, status, time.perf_counter() - started)

    def _observe(self, environ: WSGIEnvironment, status: str, seconds: float) -> None:
        method = environ["REQUEST_METHOD"]
        key = (method if method in metrics.KNOWN_METHODS else "OTHER", route_of(environ), status)
        series = self._series.get(key) or self._labelled(*key)
        series.requests.inc()
        series.duration.observe(seconds)
        if series.outcome is not None:
            series.outcome.inc()

    def _labelled(self, method: str, route: str, status: str) -> _Series:
        """The children for one method, route and status, resolved once."""
        outcome_counter = None
        if (by_status := self._outcomes.get(route)) is not None:
            counter, outcomes = by_status
            if (label := outcome(outcomes, status)) is not None:
                outcome_counter = counter.labels(label)
        series = _Series(
            metrics.REQUESTS.labels(method, route, status),
            metrics.REQUEST_DURATION.labels(method, route),
            outcome_counter,
        )
        self._series[(method, route, status)] = series
        return series
