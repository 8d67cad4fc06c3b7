"""Flask integration: `init_app(app, client)` once, then `@requires("pro_read")` on a view.

    auth = AuthClient("http://auth:5000", service_name="billing", service_secret=os.environ["SECRET"])
    auth.start()
    init_app(app, auth)

    @app.get("/invoices")
    @requires("pro_read")
    def invoices():
        return {"user": str(g.principal.user_id)}

Answers: 401 without a valid token, 403 when the condition does not hold, 503 when movies_auth cannot
answer; each a JSON `{"msg": ...}`. The request's `X-Request-Id` is passed on to movies_auth.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, jsonify, request

from movies_auth_client.client import AuthClient
from movies_auth_client.contract import REQUEST_ID_HEADER
from movies_auth_client.errors import AuthUnavailable, InvalidToken
from movies_auth_client.permissions import Condition
from movies_auth_client.principal import Principal, bearer_token

EXTENSION = "movies_auth_client"
View = TypeVar("View", bound=Callable[..., Any])


def init_app(app: Flask, client: AuthClient) -> None:
    """Make `client` the one `requires` uses in this app."""
    app.extensions[EXTENSION] = client


def requires(condition: Condition) -> Callable[[View], View]:
    """A view decorator: only callers whose token satisfies `condition` get in; `g.principal` is who they are."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.principal = authorize(condition)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def authorize(condition: Condition) -> Principal:
    """The caller of the current request, if their token satisfies `condition`; else the request is aborted."""
    client: AuthClient = current_app.extensions[EXTENSION]
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        abort(_refusal(401, "Missing Authorization Header"))
    try:
        granted = client.has_permission(token, condition, request.headers.get(REQUEST_ID_HEADER))
    except InvalidToken as error:
        abort(_refusal(401, error.detail))
    except AuthUnavailable:
        abort(_refusal(503, "The auth service is unavailable, try again shortly"))
    if not granted:
        abort(_refusal(403, "You do not have the permission for this"))
    return Principal.of(token)


def _refusal(status: int, message: str) -> Response:
    response = jsonify(msg=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response
