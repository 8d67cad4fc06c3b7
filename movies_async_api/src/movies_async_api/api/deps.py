"""Dependencies of the routes: the caller's access, the services, and cached answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, TypeAdapter

from movies_async_api import metrics, redis_keys
from movies_async_api.access import Caller
from movies_async_api.auth_client import InvalidToken
from movies_async_api.request_context import current_request_id, mark_auth_degraded
from movies_async_api.services.films import FilmService
from movies_async_api.services.genres import GenreService
from movies_async_api.services.persons import PersonService

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
    token = credentials.credentials if credentials else None
    auth = request.app.state.auth
    try:
        caller = await auth.identify(token, current_request_id())
    except InvalidToken as error:
        raise _unauthorized(error.detail) from None
    finally:
        metrics.observe_breaker(auth.breaker.state)  # metrics: the breaker's state after each identification
    if caller.degraded:
        mark_auth_degraded(request.scope["state"])
    return caller


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


CallerDep = Annotated[Caller, Depends(current_caller)]


def _films(request: Request) -> FilmService:
    return request.app.state.films


def _genres(request: Request) -> GenreService:
    return request.app.state.genres


def _persons(request: Request) -> PersonService:
    return request.app.state.persons


FilmsDep = Annotated[FilmService, Depends(_films)]
GenresDep = Annotated[GenreService, Depends(_genres)]
PersonsDep = Annotated[PersonService, Depends(_persons)]


class CachedAnswer:
    """Answers from the response cache, keyed by access level, path and validated parameters."""

    def __init__(self, request: Request, caller: CallerDep) -> None:
        self.request = request
        self.caller = caller

    async def __call__(
        self, params: BaseModel | None, shape: TypeAdapter, produce: Callable[[], Awaitable[Any]]
    ) -> Response:
        """The cached body for this request, or `produce()`'s result, serialized and cached."""
        cache = self.request.app.state.cache
        values = params.model_dump(mode="json") if params is not None else {}
        key = redis_keys.response(self.caller.access, self.request.url.path, values)
        body = await cache.get(key)
        metrics.observe_cache_lookup(body is not None)  # metrics: response cache hits and misses
        if body is None:
            body = shape.dump_json(await produce())
            await cache.put(key, body)
        return Response(body, media_type="application/json")


AnswerDep = Annotated[CachedAnswer, Depends()]
