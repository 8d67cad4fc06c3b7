"""Per-request context: the request id, the client address, and the one access-log line per request.

The id and the access line are kept by a WSGI middleware around everything that answers a request
(Flask and the fast checks alike), so every answer carries them and no Flask hook runs for them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import request

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# A copy of movies_auth_client.contract's (this image installs nothing from beside it); a test holds them equal.
REQUEST_ID_HEADER = "X-Request-Id"
# Where the WSGI environ keeps the request's id once decided, and the route template a fast path answered for.
REQUEST_ID_ENVIRON_KEY = "movies_auth.request_id"
ROUTE_ENVIRON_KEY = "movies_auth.route"
UNMATCHED_ROUTE = "unmatched"
# An incoming id is echoed into logs and headers, so only a short, plain token is trusted.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")

access_log = logging.getLogger("movies_auth.access")
_LOGGED_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=._~-]*")  # nothing to encode: the common case, made cheap

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    return _request_id.get()


def request_id_of(environ: WSGIEnvironment) -> str:
    """The request's id: the client's `X-Request-Id` when it is a plain short token, else a new one; decided once."""
    request_id = environ.get(REQUEST_ID_ENVIRON_KEY)
    if request_id is None:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        environ[REQUEST_ID_ENVIRON_KEY] = request_id
    return request_id


def route_of(environ: WSGIEnvironment) -> str:
    """The template of the route that answered (`/auth/api/v1/users/<user_id>`), or "unmatched": never the path."""
    return environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE)


def client_ip() -> str:
    """The client's address: as the trusted proxy put it in X-Forwarded-For (unwrapped by ProxyFix) when that is
    an IP address, else the address of the peer that connected."""
    address = _ip_address(request.remote_addr)
    if address is None:
        # What the proxy said is not an address (a forged header, with no proxy in front): it must not become
        # a rate-limit key or a stored login address.
        address = _ip_address(request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR"))
    return address or "unknown"


def _ip_address(text: str | None) -> str | None:
    """`text` in the canonical spelling of its IP address (no IPv6 zone), or None when it is not one."""
    try:
        return str(ipaddress.ip_address((text or "").partition("%")[0]))
    except ValueError:
        return None


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` to the record; never drops it."""
        record.request_id = _request_id.get()
        return True


class RequestScope:
    """WSGI middleware: accepts or makes the request id, echoes it in `X-Request-Id`, and logs the request."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request with its id set for every log line written meanwhile."""
        started = time.perf_counter()
        request_id = request_id_of(environ)
        status = "500"  # what the server answers if the app raises

        def start_with_id(
            status_line: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal status
            status = status_line[:3]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        reset = _request_id.set(request_id)
        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %s %.1fms", environ["REQUEST_METHOD"], _logged_path(environ), status, duration_ms)
            _request_id.reset(reset)


def _logged_path(environ: WSGIEnvironment) -> str:
    # The path only (a query string could carry a token), percent-encoded as it came on the wire: a
    # decoded path may hold line breaks that would forge log lines. WSGI hands over its bytes as latin-1.
    path = environ.get("PATH_INFO") or "/"
    return path if _PLAIN_PATH.fullmatch(path) else quote(path.encode("latin-1"), safe=_LOGGED_PATH_SAFE)
