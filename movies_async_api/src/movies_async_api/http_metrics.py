"""Pure ASGI middleware: counts and times every HTTP request by route template and status."""

from __future__ import annotations

import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from movies_async_api import metrics

UNMATCHED_ROUTE = "unmatched"


def route_of(scope: Scope) -> str:
    """The template of the route that answered (`/api/v1/films/{film_id}`), or "unmatched": never the path."""
    # The router leaves the route it matched in the scope; an included router's route knows its path below the
    # router's prefix only. The prefixes here are literal, so the path's leading segments are the prefix.
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not template:
        return UNMATCHED_ROUTE
    if isinstance(route, Mount):
        return template + "/{path}"
    segments = scope["path"].split("/")
    prefix = "/".join(segments[: len(segments) - template.count("/")])
    return prefix + template


class HttpMetricsMiddleware:
    """Observes each request into `http_requests_total` and `http_request_duration_seconds`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            method = scope["method"] if scope["method"] in metrics.KNOWN_METHODS else "OTHER"
            route = route_of(scope)
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.REQUEST_DURATION.labels(method, route).observe(time.perf_counter() - started)
