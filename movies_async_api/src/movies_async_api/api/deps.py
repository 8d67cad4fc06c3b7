"""Dependencies of the routes: the caller's access, the services, and cached answers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from movies_auth_client import AuthUnavailable, InvalidToken
from pydantic import BaseModel, TypeAdapter

from movies_async_api import metrics, redis_keys
from movies_async_api.local_answers import answer_key
from movies_async_api.request_context import current_request_id, mark_auth_degraded
from movies_async_api.services.films import FilmService
from movies_async_api.services.genres import GenreService
from movies_async_api.services.persons import PersonService
from movies_async_api.visibility import ANONYMOUS, DEGRADED, PRO_PERMISSION, Access, Caller

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from movies_auth. Without one, only films rated 7.0 or lower are shown.",
)


async def current_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller's access level, as movies_auth sees it; anonymous without a token or while auth is down."""
    if credentials is None and "authorization" in request.headers:
        raise _unauthorized("The Authorization header must be 'Bearer <access token>'")
    if credentials is None:
        return ANONYMOUS
    try:
        granted = await request.app.state.auth.has_permission(
            credentials.credentials, PRO_PERMISSION, current_request_id()
        )
    except InvalidToken as error:
        raise _unauthorized(error.detail) from None
    except AuthUnavailable:
        mark_auth_degraded(request.scope["state"])
        return DEGRADED
    return _FULL if granted else ANONYMOUS


_FULL = Caller(Access.FULL)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


# Where the request's state keeps the outcome of identifying its caller: a Caller, or the refusal to raise.
_IDENTIFIED = "caller"


async def identify_once(request: Request) -> Caller:
    """`current_caller`, remembered for the rest of the request (the fast path asks before the route does)."""
    state = request.scope.setdefault("state", {})
    if _IDENTIFIED not in state:
        try:
            state[_IDENTIFIED] = await current_caller(request, await _bearer(request))
        except HTTPException as refusal:
            state[_IDENTIFIED] = refusal
    outcome = state[_IDENTIFIED]
    if isinstance(outcome, HTTPException):
        raise outcome
    return outcome


async def _request_caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    # `_bearer` stays a dependency so that the spec documents the bearer token.
    return await identify_once(request)


CallerDep = Annotated[Caller, Depends(_request_caller)]


async def _films(request: Request) -> FilmService:
    return request.app.state.films


async def _genres(request: Request) -> GenreService:
    return request.app.state.genres


async def _persons(request: Request) -> PersonService:
    return request.app.state.persons


FilmsDep = Annotated[FilmService, Depends(_films)]
GenresDep = Annotated[GenreService, Depends(_genres)]
PersonsDep = Annotated[PersonService, Depends(_persons)]


class CachedAnswer:
    """Answers from the response cache, keyed by access level, path and validated parameters; the whole answer
    is then kept in this worker's memory too, for the fast path to send as it is."""

    def __init__(self, request: Request, caller: Caller) -> None:
        self.request = request
        self.caller = caller

    async def __call__(self, params: BaseModel, produce: Callable[[], Awaitable[Any]]) -> Response:
        """The cached body for this request, or `produce()`'s result, serialized as the route's `response_model`."""
        state = self.request.app.state
        generation = state.local_answers.generation
        path = self.request.url.path
        key = redis_keys.response(self.caller.access, path, params.model_dump(mode="json"))
        body = await state.cache.get(key)
        metrics.observe_cache_lookup(body is not None)
        if body is None:
            route: APIRoute = self.request.scope["route"]
            body = _serializer(route.response_model).dump_json(await produce())
            await state.cache.put(key, body)
        response = Response(body, media_type="application/json")
        local_key = answer_key(self.caller.access, self.request.scope["path"], self.request.scope["query_string"])
        state.local_answers.put(
            local_key, response.status_code, response.raw_headers, body, generation, self.request.scope.get("route")
        )
        return response


@functools.cache
def _serializer(response_model: Any) -> TypeAdapter[Any]:
    # The route declares its response once (`response_model=`, which OpenAPI shows); answers are written by it.
    return TypeAdapter(response_model)


async def _cached_answer(request: Request, caller: CallerDep) -> CachedAnswer:
    # Every dependency is async: FastAPI runs a sync one (a class's __init__ too) on a worker thread.
    return CachedAnswer(request, caller)


AnswerDep = Annotated[CachedAnswer, Depends(_cached_answer)]
