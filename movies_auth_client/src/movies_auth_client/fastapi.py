"""FastAPI integration: a dependency that lets in only callers whose token satisfies a condition.

    @asynccontextmanager
    async def lifespan(app):
        async with AsyncAuthClient("http://auth:5000", service_name="billing", service_secret=SECRET) as auth:
            app.state.auth_client = auth
            yield

    @app.get("/invoices")
    async def invoices(principal: Annotated[Principal, Depends(requires("pro_read"))]):
        return {"user": str(principal.user_id)}

Answers: 401 without a valid token, 403 when the condition does not hold, 503 when movies_auth cannot
answer. The request's `X-Request-Id` is passed on to movies_auth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from movies_auth_client.async_client import AsyncAuthClient
from movies_auth_client.contract import REQUEST_ID_HEADER
from movies_auth_client.errors import AuthUnavailable, InvalidToken
from movies_auth_client.permissions import Condition
from movies_auth_client.principal import Principal

# Declared so that the OpenAPI spec shows the bearer scheme; the refusals are ours.
_bearer = HTTPBearer(auto_error=False, description="An access token from movies_auth")


def app_state_client(request: Request) -> AsyncAuthClient:
    """The client kept in `app.state.auth_client` (the default place `requires` looks)."""
    return request.app.state.auth_client


def requires(
    condition: Condition, client: Callable[[Request], AsyncAuthClient] = app_state_client
) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if their bearer token satisfies `condition`; else 401, 403 or 503."""

    async def principal(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("Missing Authorization Header")
        token = credentials.credentials
        try:
            granted = await client(request).has_permission(token, condition, request.headers.get(REQUEST_ID_HEADER))
        except InvalidToken as error:
            raise _unauthorized(error.detail) from None
        except AuthUnavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "The auth service is unavailable, try again shortly",
                headers={"Retry-After": "5"},
            ) from None
        if not granted:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "You do not have the permission for this")
        return Principal.of(token)

    return principal


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})
