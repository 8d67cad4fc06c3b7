"""Per-request context: the request id, the client address, and the one access-log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import quote

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-Id"
# An incoming id is echoed into logs and headers, so only a short, plain token is trusted.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")

access_log = logging.getLogger("movies_auth.access")
_LOGGED_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=._~-]*")  # nothing to encode: the common case, made cheap


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    if has_request_context():
        return getattr(g, "request_id", "-")
    return "-"


def client_ip() -> str:
    """The client's address (already unwrapped from X-Forwarded-For by ProxyFix when behind a proxy)."""
    return request.remote_addr or "unknown"


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` to the record; never drops it."""
        record.request_id = current_request_id()
        return True


def init_app(app: Flask) -> None:
    """Accept or generate the request id, echo it, and write the access-log line."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        started = getattr(g, "request_started", None)
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        # The path only (a query string could carry a token), percent-encoded as it came on the wire: a
        # decoded path may hold line breaks that would forge log lines.
        path = request.path
        if not _PLAIN_PATH.fullmatch(path):
            path = quote(path, safe=_LOGGED_PATH_SAFE)
        access_log.info("%s %s %s %.1fms", request.method, path, response.status_code, duration_ms)
        return response
