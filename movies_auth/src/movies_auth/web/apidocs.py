"""The Swagger UI at /auth/apidocs/, served by flasgger from the spec our schemas generate."""

from __future__ import annotations

from flasgger import Swagger
from flask import Flask

from movies_auth.domain.accounts import EmailTaken
from movies_auth.domain.built_ins import ADMIN_PERMISSION
from movies_auth.domain.oauth_flow import InvalidState
from movies_auth.domain.oauth_pending import TooManyPendingSignIns
from movies_auth.domain.oauth_providers.errors import ProviderUnavailable
from movies_auth.domain.permissions import PermissionNameTaken
from movies_auth.domain.roles import RoleNameTaken
from movies_auth.domain.social_accounts import EmailHeldByAnotherAccount, LastWayToSignIn
from movies_auth.domain.superusers import LastSuperuser
from movies_auth.domain.tokens import TOKEN_REVOKED
from movies_auth.web.guards import SUBJECT_TOKEN_HEADER
from movies_auth.web.openapi import ErrorExamples, build_spec

APIDOCS_URL = "/auth/apidocs/"
SPEC_URL = "/auth/apispec.json"

DESCRIPTION = """Accounts, sessions and tokens of the online cinema.

Log in with `POST /auth/api/v1/auth_token`, then press **Authorize** and paste the `access_token`."""

TAGS = {
    "users": "Registration and the owner's account",
    "sessions": "The account's signed-in devices: list them, sign one or all others out",
    "oauth": "Social sign-in with Google (any OpenID Connect provider), Yandex ID and VK ID, and linked identities."
    " Register the app at the provider with the redirect URI PUBLIC_URL + /auth/api/v1/oauth/<name>/callback",
    "tokens": "Log in, refresh, log out, and token validation for other services",
    "service_tokens": "Service-to-service auth: a service trades its name and secret for a service token",
    "checks": "What a user may do: the permission checks other services make on every request",
    "permissions": "The named capabilities (permission admins only)",
    "roles": "Named sets of permissions (permission admins only)",
    "grants": "A user's roles and direct permissions (permission admins only)",
    "keys": "The public keys tokens are signed with (JWKS)",
    "health": "Liveness and readiness probes",
    "index": "Where the API, its docs and the probes are",
}


def _message(text: str) -> dict[str, str]:
    return {"msg": text}


_NOT_JSON = "Condition is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"

# An example body for each error status: what the service answers, for the operation (by operation id), else
# for its tag, else the first that applies anywhere ("*"). One message never stands for two statuses.
ERROR_EXAMPLES: ErrorExamples = {
    "*": {
        400: {"msg": "Invalid input", "errors": {"name": ["Missing data for required field."]}},
        401: _message("Missing Authorization Header"),
        403: _message(f"Permission denied: this needs {ADMIN_PERMISSION}"),
        404: _message("User not found"),
        409: _message(LastSuperuser().msg),
        422: _message("Not enough segments"),
        429: _message("Too many requests (limit: 20 per 1 minute); retry after the Retry-After delay"),
        500: _message("Internal server error"),
        503: _message("Database is unavailable, try again shortly"),
    },
    "tokens_login": {
        400: {"msg": "Invalid input", "errors": {"password": ["Missing data for required field."]}},
        401: _message("Invalid email or password"),
        429: _message("Too many requests (limit: failed logins of this account); retry after the Retry-After delay"),
    },
    "tokens_refresh": {401: _message(TOKEN_REVOKED)},
    "service_tokens_service_token": {
        400: {"msg": "Invalid input", "errors": {"secret": ["Missing data for required field."]}},
        401: _message("Invalid service name or secret"),
    },
    "service_tokens_service_identity": {403: _message("Only a service may use this route")},
    "users": {
        400: {"msg": "Invalid input", "errors": {"password": ["Length must be between 8 and 128."]}},
        403: _message("You may only access your own account"),
        409: _message(EmailTaken().msg),
    },
    "users_register": {
        400: {
            "msg": "Invalid input",
            "errors": {"email": ["Not a valid email address: An email address must have an @-sign."]},
        }
    },
    "sessions": {403: _message("You may only access your own account"), 404: _message("Session not found")},
    "oauth": {
        400: {"msg": InvalidState().msg, "errors": InvalidState().errors},
        401: _message("Only access tokens are allowed"),
        403: _message("You may only access your own account"),
        404: _message("No such sign-in provider"),
        409: _message(EmailHeldByAnotherAccount("google").msg),
        422: _message("Signature verification failed"),
        502: _message(ProviderUnavailable("google").msg),
    },
    "oauth_start_sign_in": {503: _message(TooManyPendingSignIns(1).msg)},
    "oauth_unlink_social_account": {409: _message(LastWayToSignIn().msg), 404: _message("No google account is linked")},
    "checks": {
        400: {"msg": "Invalid input", "errors": {"permissions": [_NOT_JSON]}},
        403: _message("You may only access your own account"),
    },
    "tokens": {403: _message("Service tokens may not use this route")},
    "tokens_validate": {403: _message(f"Only a service may send {SUBJECT_TOKEN_HEADER}")},
    "permissions": {404: _message("Permission 'beta' not found"), 409: _message(PermissionNameTaken("beta").msg)},
    "roles": {404: _message("Role 'critic' not found"), 409: _message(RoleNameTaken("critic").msg)},
    "roles_revoke_role_permission": {404: _message("Role 'critic' does not grant 'beta'")},
    "grants": {404: _message("Role 'critic' not found")},
}


def init_app(app: Flask) -> None:
    """Serve the UI and the generated spec; flasgger itself scans no docstrings."""
    spec = build_spec(
        app, title="Movies auth service", description=DESCRIPTION, tags=TAGS, error_examples=ERROR_EXAMPLES
    )
    Swagger(
        app,
        template=spec,
        config={
            "openapi": spec["openapi"],
            "uiversion": 3,
            "headers": [],
            "specs": [{"endpoint": "apispec", "route": SPEC_URL, "rule_filter": lambda rule: False}],
            "static_url_path": "/auth/flasgger_static",
            "specs_route": APIDOCS_URL,
            "swagger_ui": True,
        },
    )
