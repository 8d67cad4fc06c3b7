"""flask-jwt-extended's `JWTManager`, verifying each distinct token once per process."""

from __future__ import annotations

import threading
import time
from typing import Any

import flask_jwt_extended
from cachetools import TLRUCache
from flask import Flask, current_app

VERIFIED_TOKENS_KEPT = 50_000


def _until_expiry(_token: str, claims: dict[str, Any], now: float) -> float:
    return claims.get("exp", now)


class JWTManager(flask_jwt_extended.JWTManager):
    """A `JWTManager` that remembers the tokens whose signature and claims it has verified.

    Other services send the same access token with every request of a user, and flask-jwt-extended
    parses a token three times to verify it: most of a token check's cost. A verified token is kept
    under its exact text, by the app that verified it, and only until its `exp`, so a repeat is a
    dictionary lookup. Revocation is not cached here: it is checked on every request.
    """

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        """Bind to `app`, with an empty cache of verified tokens of its own."""
        super().init_app(app, add_context_processor)
        cache = TLRUCache(maxsize=VERIFIED_TOKENS_KEPT, ttu=_until_expiry, timer=time.time)
        app.extensions["verified_tokens"] = (threading.Lock(), cache)

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False
    ) -> dict:
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        lock, cache = current_app.extensions["verified_tokens"]
        with lock:
            claims = cache.get(encoded_token)
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token)
            with lock:
                cache[encoded_token] = claims
        return dict(claims)  # callers may keep or change theirs
