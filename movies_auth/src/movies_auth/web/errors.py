"""Errors as JSON `{"msg": ..., "errors"?: ...}` for every failure, ours or the framework's."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, TooManyRequests

from movies_auth.domain.errors import DomainError
from movies_auth.domain.key_ring import KeyRingError

log = logging.getLogger(__name__)

WWW_AUTHENTICATE = "WWW-Authenticate"
REALM = "movies_auth"
# What RFC 6749 and 6750 allow in an error_description: printable ASCII but `"` and `\`.
ERROR_DESCRIPTION_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def error_response(status: int, msg: str, errors: dict[str, Any] | None = None) -> Response:
    """The JSON body every error answer has."""
    body: dict[str, Any] = {"msg": msg}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def redis_unavailable(error: RedisError) -> Response:
    """503 for a request Redis could not serve."""
    log.error("Redis is unavailable: %s", error)
    return error_response(503, "Token store is unavailable, try again shortly")


def database_unavailable(error: OperationalError) -> Response:
    """503 for a request the database could not serve."""
    log.error("Database is unavailable: %s", error.orig)
    return error_response(503, "Database is unavailable, try again shortly")


def _http_message(error: HTTPException) -> str:
    if isinstance(error, RequestEntityTooLarge):
        return "Request body is too large"
    if isinstance(error, TooManyRequests):
        return f"Too many requests (limit: {error.description}); retry after the Retry-After delay"
    return error.description or error.name


def bearer_challenge(response: Response) -> Response:
    """RFC 6750: a 401 names the scheme and realm, and says why a token it was sent is refused."""
    if response.status_code == 401 and WWW_AUTHENTICATE not in response.headers:
        parameters = [f'realm="{REALM}"']
        body = response.get_json(silent=True)
        # A refusal of the bearer token itself; one of a token passed along (X-Subject-Token) names its field.
        if (
            request.headers.get("Authorization", "").startswith("Bearer ")
            and isinstance(body, dict)
            and ("errors" not in body)
        ):
            reason = ERROR_DESCRIPTION_UNSAFE.sub("", str(body.get("msg", "")))
            parameters += ['error="invalid_token"', f'error_description="{reason}"']
        response.headers[WWW_AUTHENTICATE] = "Bearer " + ", ".join(parameters)
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every error as JSON; never a stack trace, never an HTML page."""
    app.after_request(bearer_challenge)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        response = error_response(error.status_code, error.msg, error.errors)
        response.headers.extend(error.headers)
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError) -> Response:
        errors = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return error_response(400, "Invalid input", errors)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, _http_message(error))
        # Keep headers the error carries, such as Allow on 405 and Retry-After on 429.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    app.register_error_handler(RedisError, redis_unavailable)
    app.register_error_handler(OperationalError, database_unavailable)

    @app.errorhandler(KeyRingError)
    def _no_signing_key(error: KeyRingError) -> Response:
        log.error("Cannot sign tokens: %s", error)
        return error_response(503, "Signing keys are unavailable, try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("Unhandled error")
        return error_response(500, "Internal server error")
