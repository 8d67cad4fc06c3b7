"""The Swagger UI at /auth/apidocs/, served by flasgger from the spec our schemas generate."""

from __future__ import annotations

from flasgger import Swagger
from flask import Flask

from movies_auth.openapi import build_spec

APIDOCS_URL = "/auth/apidocs/"
SPEC_URL = "/auth/apispec.json"

DESCRIPTION = """Accounts, sessions and tokens of the online cinema.

Log in with `POST /auth/api/v1/auth_token`, then press **Authorize** and paste the `access_token`."""

TAGS = {
    "users": "Registration and the owner's account",
    "sessions": "The account's signed-in devices: list them, sign one or all others out",
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


def init_app(app: Flask) -> None:
    """Serve the UI and the generated spec; flasgger itself scans no docstrings."""
    spec = build_spec(app, title="Movies auth service", description=DESCRIPTION, tags=TAGS)
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
