"""A pure-ASGI fast path: an answer this worker already holds is sent as it is, without routing, dependency
resolution, parameter validation or a Redis round trip.

It sits inside the request-context middleware (request id, access log, `X-Auth-Degraded`), identifies the caller
exactly as the routes do, and only then looks up the answer under the caller's access level: what a caller sees
is what the route would have sent them. Anything it does not hold goes on to the routes.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from movies_async_api import metrics
from movies_async_api.api.deps import identify_once
from movies_async_api.local_answers import LocalAnswers, answer_key

API_PREFIX = "/api/v1/"


class AnswerFastPath:
    """Sends a held answer for a GET under `/api/v1/`; passes every other request on untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        answers: LocalAnswers = scope["app"].state.local_answers
        if answers.serving:
            try:
                caller = await identify_once(Request(scope, receive))
            except HTTPException:
                caller = None  # the route raises it again, and answers it as it always has
            held = caller and answers.get(answer_key(caller.access, scope["path"], scope["query_string"]))
            if held:
                metrics.observe_cache_lookup(True)
                scope["route"] = held.route  # what the route would have left there, for the metrics outside
                # A fresh list: the middleware outside adds its headers to the one it is sent.
                await send({"type": "http.response.start", "status": held.status, "headers": list(held.headers)})
                await send({"type": "http.response.body", "body": held.body})
                return
        await self.app(scope, receive, send)
