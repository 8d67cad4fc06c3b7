"""The token and permission checks other services make on every request, answered ahead of Flask when they pass.

Each of those requests costs this service a check, and Flask's request machinery (the request
context, routing over every rule, hooks, a response object) costs more than the check itself. So a
GET to either check route is tried here first, in the WSGI layer: when its bearer token is one this
process has verified before, is unrevoked and lets its holder ask, the answer is built from the same
caches and functions the Flask route uses, with the same body and headers. Everything else (a token
seen for the first time, every refusal, an invalid query, an unknown user) goes on to the Flask
route, so its answers stay the only refusals there are. A dependency that fails mid-check gets the
503 the route would give, from the same error functions, rather than a second wait in Flask.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from flask import Flask, Response
from marshmallow import Schema, ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from movies_auth.domain import permission_cache
from movies_auth.domain.errors import NotFound
from movies_auth.hotpath.check_rule import SUBJECT_TOKEN_HEADER, Claims, refusal
from movies_auth.hotpath.jwt_manager import BEARER, remembered_token
from movies_auth.observability import metrics
from movies_auth.observability.request_context import ROUTE_ENVIRON_KEY
from movies_auth.web import errors
from movies_auth.web.guards import holder_meets
from movies_auth.web.openapi import query_loader
from movies_auth.web.schemas import MessageSchema, PermissionCheckQuerySchema, PermissionCheckSchema
from movies_auth.web.views.tokens import TOKEN_IS_VALID

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_SUBJECT_TOKEN = "HTTP_" + SUBJECT_TOKEN_HEADER.upper().replace("-", "_")


class _Answer(NamedTuple):
    headers: tuple[tuple[str, str], ...]
    body: bytes


class FastChecks:
    """WSGI middleware: answers the two check routes when they pass, and hands every other request to `wsgi_app`."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app
        self._app = app
        self._token_validation_path = _rule(app, "tokens.validate")
        self._permission_validation_rule = _rule(app, "checks.validate")
        self._permission_validation_path = _user_path_pattern(self._permission_validation_rule)
        self._load_query = query_loader(PermissionCheckQuerySchema)
        with app.app_context():
            self._token_is_valid = _rendered(app, MessageSchema, {"msg": TOKEN_IS_VALID})
            self._verdicts = {valid: _rendered(app, PermissionCheckSchema, {"valid": valid}) for valid in (True, False)}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a passing check here; pass anything else on."""
        answer = self._answer(environ) if environ["REQUEST_METHOD"] == "GET" else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        if isinstance(answer, Response):
            return answer(environ, start_response)
        start_response("200 OK", list(answer.headers))
        return [answer.body]

    def _answer(self, environ: WSGIEnvironment) -> _Answer | Response | None:
        path = environ.get("PATH_INFO", "")
        # The route is named here for the metrics and the trace: an answer from here meets no Flask rule. A
        # request passed on meets the same rule in Flask, as the path is matched the way werkzeug does.
        if path == self._token_validation_path:
            environ[ROUTE_ENVIRON_KEY] = self._token_validation_path
            return self._checked(self._token_validation, environ)
        if matched := self._permission_validation_path.fullmatch(path):
            environ[ROUTE_ENVIRON_KEY] = self._permission_validation_rule
            return self._checked(self._permission_validation, environ, matched[1])
        return None

    def _checked(self, check: Callable[..., _Answer | None], *args: Any) -> _Answer | Response | None:
        with self._app.app_context():
            try:
                return check(*args)
            except RedisError as error:
                return errors.redis_unavailable(error)
            except OperationalError as error:
                return errors.database_unavailable(error)

    def _token_validation(self, environ: WSGIEnvironment) -> _Answer | None:
        caller = _bearer_claims(environ)
        if caller is None or not _passes(environ, caller, user_id=None):
            return None
        return self._token_is_valid

    def _permission_validation(self, environ: WSGIEnvironment, user_id: str) -> _Answer | None:
        caller = _bearer_claims(environ)
        if caller is None or not _passes(environ, caller, user_id=user_id):
            return None
        try:
            condition = self._load_query(environ.get("QUERY_STRING", "").encode("latin-1"))["permissions"]
            valid = permission_cache.meets(uuid.UUID(user_id), condition)
        except (ValueError, ValidationError, NotFound):
            return None
        metrics.count_permission_verdict(valid)
        return self._verdicts[valid]


def _bearer_claims(environ: WSGIEnvironment) -> dict[str, Any] | None:
    """The claims of the request's bearer token, when it is a live non-refresh token this app verified before."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if not authorization.startswith(BEARER):
        return None
    caller = remembered_token(authorization[len(BEARER) :])
    return caller.claims if caller else None


class _NotRemembered(Exception):
    """The token in `X-Subject-Token` is not one this app verified before: Flask decides."""


def _passes(environ: WSGIEnvironment, caller: Claims, *, user_id: str | None) -> bool:
    """Whether `check_rule.refusal` lets the check pass, with an `X-Subject-Token` only when this app verified
    it before as a live user access token; every other case goes on to Flask."""
    token = environ.get(_SUBJECT_TOKEN)
    subject = None if token is None else functools.partial(_remembered_subject, token)
    try:
        return refusal(caller, user_id=user_id, subject=subject, holds=holder_meets) is None
    except _NotRemembered:
        return False


def _remembered_subject(token: str) -> Claims:
    subject = remembered_token(token)
    if subject is None or subject.claims["type"] != "access":
        raise _NotRemembered
    return subject.claims


def _rule(app: Flask, endpoint: str) -> str:
    [rule] = app.url_map.iter_rules(endpoint)
    return rule.rule


def _user_path_pattern(rule: str) -> re.Pattern[str]:
    """The paths a rule with one `<user_id>` matches, as werkzeug's default converter reads it: one segment."""
    before, _, after = rule.partition("<user_id>")
    return re.compile(f"{re.escape(before)}([^/]+){re.escape(after)}")


def _rendered(app: Flask, schema: type[Schema], value: dict[str, Any]) -> _Answer:
    """The headers and body of the 200 the Flask route gives for `value`, made by the same schema and JSON provider."""
    response = app.json.response(schema().dump(value))
    return _Answer(tuple(response.headers.items()), response.get_data())
