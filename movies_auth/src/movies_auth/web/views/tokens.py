"""Tokens: log in, refresh, log out, log out everywhere, and the validation other services call."""

from __future__ import annotations

import time

from flask import Blueprint, g, request
from flask_jwt_extended import get_jwt, get_jwt_identity

from movies_auth.domain import accounts, login_throttle, service_accounts, tokens
from movies_auth.domain.errors import Forbidden, Unauthorized
from movies_auth.extensions import current_settings, limiter
from movies_auth.observability.request_context import client_ip
from movies_auth.stores import redis_keys
from movies_auth.web.guards import (
    ANY_SERVICE,
    SUBJECT_TOKEN_HEADER,
    SUBJECT_TOKEN_NOTE,
    require_check,
    service_token_required,
    token_required,
)
from movies_auth.web.openapi import accepts, documents_header, responds
from movies_auth.web.schemas import (
    CredentialsSchema,
    MessageSchema,
    ServiceCredentialsSchema,
    ServiceIdentitySchema,
    ServiceTokenSchema,
    TokenPairSchema,
)

bp = Blueprint("tokens", __name__, url_prefix="/auth/api/v1/auth_token")
service_bp = Blueprint("service_tokens", __name__, url_prefix="/auth/api/v1/service_token")

TOKEN_IS_VALID = "Token is valid"  # noqa: S105 (a message)
EMAIL_NOT_VERIFIED = (
    "Email address not verified: open the link mailed to it, or ask for a new one with "
    "POST /auth/api/v1/users/email_verification"
)


@bp.post("")
@limiter.limit(lambda: current_settings().login_rate_limit_per_ip, key_func=client_ip, scope="login-ip")
@accepts(CredentialsSchema)
@responds(200, TokenPairSchema, errors=[401, 403, 429])
def login(data: dict) -> tokens.TokenPair:
    """Log in with email and password: starts a session and returns its access and refresh tokens.

    Rate limited per client address, and per account on failed attempts. With `REQUIRE_VERIFIED_EMAIL`,
    an account whose email is not verified yet is refused (403) once its password is right.
    """
    succeeded = login_throttle.reserve(data["email"])
    user = accounts.authenticate(
        data["email"], data["password"], ip_address=client_ip(), user_agent=request.user_agent.string
    )
    if user is None:
        raise Unauthorized("Invalid email or password")
    succeeded()
    if current_settings().require_verified_email and not user.email_verified:
        raise Forbidden(EMAIL_NOT_VERIFIED)
    return tokens.start_session(user.id, ip_address=client_ip(), user_agent=request.user_agent.string)


def _refreshing_session() -> str:
    claims = get_jwt()
    return redis_keys.refresh_limit_subject(claims["sub"], claims[tokens.SESSION_CLAIM])


@bp.post("/token_refresh")
@token_required("refresh")
@limiter.limit(
    lambda: current_settings().refresh_rate_limit_per_session,
    key_func=_refreshing_session,
    scope="refresh-session",
    deduct_when=lambda _response: g.get("refresh_rotated", False),
)
@responds(200, TokenPairSchema, errors=[429])
def refresh() -> tokens.TokenPair:
    """Exchange the refresh token for a new pair; the used refresh token dies.

    The token just exchanged, sent again within the grace window (`JWT_REFRESH_GRACE_SECONDS`), answers
    the very same pair; past the window, or an older token, is re-use: the whole session dies (401).
    Rate limited per session (`REFRESH_RATE_LIMIT_PER_SESSION`); answers of the grace window do not count.
    """
    pair, g.refresh_rotated = tokens.rotate(get_jwt())
    return pair


@bp.delete("")
@token_required("any")
@responds(204)
def logout() -> None:
    """Log out: every token of this session dies. A refresh token already exchanged is refused."""
    tokens.log_out(get_jwt())


@bp.delete("/all")
@token_required("any")
@responds(204)
def logout_everywhere() -> None:
    """Log out everywhere: every token of every session of the user dies.

    A refresh token already exchanged is refused, like any dead token.
    """
    tokens.require_current(get_jwt())
    tokens.log_out_everywhere(get_jwt_identity())


@bp.get("/validation")
@token_required("access", services=ANY_SERVICE)
@documents_header(SUBJECT_TOKEN_HEADER, SUBJECT_TOKEN_NOTE)
@responds(200, MessageSchema)
def validate() -> dict:
    """Check an access token: signature, expiry, type and revocation, without touching the database.

    A service checks a user's token by sending it in `X-Subject-Token`, with its own token as the bearer.
    """
    require_check(user_id=None)
    return {"msg": TOKEN_IS_VALID}


@service_bp.post("")
@limiter.limit(lambda: current_settings().login_rate_limit_per_ip, key_func=client_ip, scope="service-token-ip")
@accepts(ServiceCredentialsSchema)
@responds(200, ServiceTokenSchema, errors=[401, 429])
def service_token(data: dict) -> tokens.ServiceToken:
    """Trade a service's name and secret for a short-lived service token (client credentials)."""
    service = service_accounts.authenticate(data["service_name"], data["secret"])
    if service is None:
        raise Unauthorized("Invalid service name or secret")
    return tokens.issue_service_token(service.id, service.name)


@service_bp.get("")
@service_token_required()
@responds(200, ServiceIdentitySchema)
def service_identity() -> dict:
    """Who the bearer service token belongs to, and for how long it is good (service tokens only)."""
    claims = get_jwt()
    return {
        "uuid": claims["sub"],
        "service_name": claims[tokens.SERVICE_NAME_CLAIM],
        "expires_in": max(0, int(claims["exp"] - time.time())),
    }
