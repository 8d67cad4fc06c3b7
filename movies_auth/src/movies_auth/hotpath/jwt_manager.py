"""flask-jwt-extended's `JWTManager`, signing with the key ring and verifying each distinct token once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import flask_jwt_extended
import jwt
from cachetools import TLRUCache
from flask import Flask, current_app, g, request
from flask_jwt_extended.config import config as jwt_config
from jwt.exceptions import InvalidSignatureError, InvalidTokenError, MissingRequiredClaimError

from movies_auth.domain.key_ring import KeyRing, SigningKey

VERIFIED_TOKENS_KEPT = 50_000
# Every token this service mints has these; flask-jwt-extended would fill in `type` and `jti` if absent.
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "type")
BEARER = "Bearer "

SIGNING_KEY_G = "movies_auth_signing_key"


class VerifiedToken(NamedTuple):
    claims: dict[str, Any]
    header: dict[str, Any]


def _until_expiry(_token: str, verified: VerifiedToken, now: float) -> float:
    return verified.claims.get("exp", now)


class VerifiedTokens:
    """Tokens whose signature and claims this process has verified, each kept until its `exp`.

    Tied to one state of the key ring: when a key is retired, what it verified is forgotten.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: TLRUCache[str, VerifiedToken] = TLRUCache(
            maxsize=VERIFIED_TOKENS_KEPT, ttu=_until_expiry, timer=time.time
        )
        self._keys: object = None

    def get(self, token: str, keys: object) -> VerifiedToken | None:
        """The claims and header of a token verified under these keys (a key ring snapshot), if it was."""
        with self._lock:
            if keys is not self._keys:
                self._cache.clear()
                self._keys = keys
            return self._cache.get(token)

    def put(self, token: str, claims: dict[str, Any], keys: object) -> None:
        """Remember a verified token."""
        verified = VerifiedToken(claims, jwt.get_unverified_header(token))
        with self._lock:
            if keys is self._keys:
                self._cache[token] = verified


def _never_revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> bool:
    return False


class JWTManager(flask_jwt_extended.JWTManager):
    """A `JWTManager` that signs with the newest key of the ring and remembers the tokens it verified.

    With an asymmetric `JWT_ALGORITHM`, every token names its key in a `kid` header and is verified
    with that key's public half; with HS256 the shared `JWT_SECRET_KEY` signs and verifies.

    Other services send the same access token with every request of a user, and flask-jwt-extended
    parses a token three times to verify it: most of a token check's cost. A verified token is kept
    under its exact text, by the app that verified it, and only until its `exp`, so a repeat is a
    dictionary lookup. Revocation is not cached here: it is checked on every request.
    """

    is_revoked: Callable[[dict[str, Any], dict[str, Any]], bool] = staticmethod(_never_revoked)

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        """Bind to `app`, with an empty cache of verified tokens of its own."""
        super().init_app(app, add_context_processor)
        app.extensions["verified_tokens"] = VerifiedTokens()
        self.additional_headers_loader(_key_id_header)
        self.encode_key_loader(_encode_key)
        self.decode_key_loader(_decode_key)

    def token_in_blocklist_loader(self, callback: Callable[[dict[str, Any], dict[str, Any]], bool]) -> Callable:
        """flask-jwt-extended's decorator, the callback also kept for `remembered_token` to ask."""
        self.is_revoked = callback
        return super().token_in_blocklist_loader(callback)

    # A private method of flask-jwt-extended, held by its pin: see movies_auth.library_seams.
    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False
    ) -> dict:
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        keys = _current_keys()
        verified = _verified_tokens().get(encoded_token, keys)
        if verified is not None:
            return dict(verified.claims)  # callers may keep or change theirs
        claims = super()._decode_jwt_from_config(encoded_token)
        _verified_tokens().put(encoded_token, claims, keys)
        return dict(claims)


def remembered_token(token: str, *, refresh: bool = False, verify_type: bool = True) -> VerifiedToken | None:
    """A token this app has verified before, of the kind asked for and not revoked since; None for any other.

    The kinds are flask-jwt-extended's: a refresh token, or (`refresh` false) any other token. Needs an
    app context; revocation is checked on every call.
    """
    verified = _verified_tokens().get(token, _current_keys())
    if verified is None:
        return None
    claims = verified.claims
    if verify_type and (claims["type"] == "refresh") != refresh:
        return None
    manager: JWTManager = current_app.extensions["flask-jwt-extended"]
    if manager.is_revoked(verified.header, claims):
        return None
    return verified


def verify_remembered_token(*, refresh: bool, verify_type: bool) -> bool:
    """Accept the request's bearer token for the cost of a lookup when this app has verified it before.

    Does for such a token what `verify_jwt_in_request` does (type and revocation checks, and the `g`
    values `get_jwt` reads) without parsing it again: flask-jwt-extended parses every token's header
    apart from its verification, character by character, on every request. Any other token, and every
    refusal, is left to `verify_jwt_in_request`, so its answers stay the only ones. Whether it accepted.
    """
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith(BEARER) or request.method in jwt_config.exempt_methods:
        return False
    verified = remembered_token(authorization[len(BEARER) :], refresh=refresh, verify_type=verify_type)
    if verified is None:
        return False
    # flask-jwt-extended's private names in `g` (movies_auth.library_seams).
    g._jwt_extended_jwt_user = None  # no user loader: what verify_jwt_in_request would set
    g._jwt_extended_jwt_header = verified.header
    g._jwt_extended_jwt = dict(verified.claims)
    return True


def _verified_tokens() -> VerifiedTokens:
    return current_app.extensions["verified_tokens"]


def _current_keys() -> object:
    """What a verified token is remembered under: the key ring's current snapshot (None with HS256)."""
    ring: KeyRing | None = current_app.extensions.get("key_ring")
    return ring.snapshot if ring else None


def _signing_key() -> SigningKey | None:
    """The key this app context signs with: the ring's newest when first asked, then the same one.

    flask-jwt-extended asks for a token's `kid` header and for its signing key separately; both must
    name the same key even if the ring changes in between. None with HS256.
    """
    ring: KeyRing | None = current_app.extensions.get("key_ring")
    if ring is None:
        return None
    key: SigningKey | None = g.get(SIGNING_KEY_G)
    if key is None:
        key = ring.snapshot.signing_key
        setattr(g, SIGNING_KEY_G, key)
    return key


def _key_id_header(_identity: Any) -> dict[str, Any]:
    key = _signing_key()
    return {"kid": key.kid} if key else {}


def _encode_key(_identity: Any) -> Any:
    key = _signing_key()
    return key.private_key if key else current_app.config["JWT_SECRET_KEY"]


def _decode_key(header: dict[str, Any], payload: dict[str, Any]) -> Any:
    _require_our_claims(payload)
    ring: KeyRing | None = current_app.extensions.get("key_ring")
    if ring is None:
        return current_app.config["JWT_SECRET_KEY"]
    key = ring.find(header.get("kid"))
    if key is None:
        raise InvalidSignatureError("Signature verification failed")
    return key.public_key


def _require_our_claims(payload: dict[str, Any]) -> None:
    """Refuse what this service never mints: a token without its claims, or living longer than any it issues.

    A token with the right signature has them all; this is defence in depth, on the first sight of a
    token only (a verified token is remembered).
    """
    for claim in REQUIRED_CLAIMS:
        if claim not in payload:
            raise MissingRequiredClaimError(claim)
    issued, expires = payload["iat"], payload["exp"]
    if all(isinstance(value, int) and not isinstance(value, bool) for value in (issued, expires)):
        longest = current_app.extensions["settings"].longest_token_life.total_seconds()
        if expires - issued > longest:
            raise InvalidTokenError("Token lifetime is longer than any this service issues")
