"""The service's front door: `GET /auth/` names the service and links its API, docs and probes."""

from __future__ import annotations

from flask import Blueprint

from movies_auth import __version__
from movies_auth.web.apidocs import APIDOCS_URL, SPEC_URL
from movies_auth.web.openapi import responds
from movies_auth.web.schemas import IndexSchema

bp = Blueprint("index", __name__, url_prefix="/auth")

LINKS = {
    "swagger_ui": APIDOCS_URL,
    "openapi": SPEC_URL,
    "jwks": "/auth/.well-known/jwks.json",
    "health": "/auth/healthz",
    "readiness": "/auth/readyz",
}


@bp.get("/")
@responds(200, IndexSchema)
def index() -> dict:
    """What this service is, and where its API, Swagger UI, public keys and probes are."""
    return {"service": "movies_auth", "version": __version__, "links": LINKS}
