"""Per-request context: the request id (accepted, made up, echoed, logged) and one access-log line."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid

from movies_auth_client.contract import ACCEPTABLE_REQUEST_ID, REQUEST_ID_HEADER
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where the ASGI scope keeps the request's id once decided.
REQUEST_ID_SCOPE_KEY = "movies_api.request_id"
AUTH_DEGRADED_HEADER = "X-Auth-Degraded"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("movies_async_api.access")


def current_request_id() -> str:
    """The id of the request being served, or `-` outside one."""
    return _request_id.get()


def request_id_of(scope: Scope) -> str:
    """The request's id: the client's `X-Request-Id` when it is a plain short token, else a new one; decided once."""
    request_id = scope.get(REQUEST_ID_SCOPE_KEY)
    if request_id is None:
        incoming = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope[REQUEST_ID_SCOPE_KEY] = request_id
    return request_id


def mark_auth_degraded(scope_state: dict) -> None:
    """Flag the answer as given without the auth service's word."""
    scope_state["auth_degraded"] = True


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` to the record; never drops it."""
        record.request_id = current_request_id()
        return True


class RequestContextMiddleware:
    """Pure ASGI middleware, so it costs next to nothing on the hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = _request_id.set(request_id)
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                if state.get("auth_degraded"):
                    headers[AUTH_DEGRADED_HEADER] = "1"
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            access_logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            _request_id.reset(token)
