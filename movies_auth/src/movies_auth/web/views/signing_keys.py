"""The public keys tokens are signed with, for services that verify tokens themselves."""

from __future__ import annotations

from flask import Blueprint, Response, after_this_request, current_app, request

from movies_auth.web.openapi import responds
from movies_auth.web.schemas import JwkSetSchema

bp = Blueprint("keys", __name__, url_prefix="/auth/.well-known")

# Long enough to spare the auth service, short enough that a verifier learns of a retired key soon;
# a verifier meeting an unknown `kid` fetches the set again at once.
JWKS_MAX_AGE = 300


@bp.get("/jwks.json")
@responds(200, JwkSetSchema)
def jwks() -> dict:
    """The public signing keys as a JWK Set (RFC 7517): every key that verifies current tokens, by `kid`.

    Empty when tokens are signed with a shared secret (HS256). Cacheable for five minutes, with an ETag.
    """
    after_this_request(_cacheable)
    ring = current_app.extensions.get("key_ring")
    return ring.jwks() if ring else {"keys": []}


def _cacheable(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = JWKS_MAX_AGE
    response.add_etag()
    response.make_conditional(request)
    return response
