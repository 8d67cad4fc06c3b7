"""movies_auth's public signing keys (its JWKS), kept to verify access tokens without a call.

Only a signature and an expiry can be checked locally; revocation and permissions are movies_auth's
to answer. With no keys (movies_auth signs with a shared secret, or has not been reached yet) tokens
go to movies_auth unchecked, as they always may.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from cachetools import TLRUCache

from movies_auth_client.errors import InvalidToken

JWKS_PATH = "/auth/.well-known/jwks.json"
# As long as movies_auth lets the set be cached (its Cache-Control max-age).
REFETCH_INTERVAL = 300.0
# Between fetches however many tokens name an unknown key: a flood of forged `kid`s costs one fetch.
MIN_REFETCH_GAP = 10.0
# Tokens whose signature has been checked, each kept until its own expiry: a caller's every request carries
# the same token, and checking an RS256 signature again costs more than the rest of a cached answer.
MAX_VERIFIED_TOKENS = 10_000


class KeySet:
    """The JWK Set as last fetched, and when to fetch it again; the fetching is the client's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at = self._unknown_kid_fetched_at = -MIN_REFETCH_GAP
        # Bumped by every replacement, so a check against keys replaced meanwhile is not kept.
        self._generation = 0
        # On the wall clock, as the tokens' `exp` is.
        self._verified: TLRUCache[str, dict[str, Any]] = TLRUCache(
            maxsize=MAX_VERIFIED_TOKENS, ttu=lambda _token, claims, _now: claims["exp"], timer=time.time
        )

    def fetch_due(self, kid: str | None = None) -> bool:
        """Whether to fetch now (and, if so, claim the fetch): never fetched, stale, or a new `kid` named.

        Fetches for unknown `kid`s are at most one per MIN_REFETCH_GAP, however many callers ask at once:
        a flood of made-up `kid`s costs one fetch, and a key rotated in since the last scheduled fetch is
        learnt at its first token.
        """
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= REFETCH_INTERVAL:
                if now - self._tried_at < MIN_REFETCH_GAP:
                    return False  # movies_auth did not answer the last try: not on every request
                self._tried_at = now
                return True
            if kid is None or kid in self._keys or now - self._unknown_kid_fetched_at < MIN_REFETCH_GAP:
                return False
            self._tried_at = self._unknown_kid_fetched_at = now
            return True

    def replace(self, body: object) -> None:
        """Take a fetched JWK Set; ValueError when it is not one (the keys already known stay)."""
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise ValueError("not a JWK Set")
        try:
            keys = jwt.PyJWKSet.from_dict(body).keys if body["keys"] else []
        except jwt.PyJWTError as error:
            raise ValueError(str(error)) from error
        with self._lock:
            self._keys = {key.key_id: key for key in keys if key.key_id}
            self._fetched_at = self._clock()
            self._generation += 1
            self._verified.clear()  # checked against keys that may be gone or changed

    def remembered(self, token: str) -> dict[str, Any] | None:
        """The claims of a token verified under the keys now held, while they need no refetch; else None.

        Found by the token's text alone: a repeat costs no parsing of its header.
        """
        with self._lock:
            fresh = self._fetched_at is not None and self._clock() - self._fetched_at < REFETCH_INTERVAL
            claims = self._verified.get(token) if fresh else None
        return None if claims is None else dict(claims)

    def decode(self, token: str, kid: str | None) -> dict[str, Any] | None:
        """The verified claims of a token naming `kid`; None when no keys are known to check with.

        Once keys are known, a token naming none of them is refused here, without a call. A token verified
        once is not verified again until it expires or the keys change.
        """
        with self._lock:
            key = self._keys.get(kid) if kid is not None else None
            any_keys = bool(self._keys)
            claims = self._verified.get(token) if key is not None else None
            generation = self._generation
        if key is None:
            if any_keys:
                raise InvalidToken("Signature verification failed")
            return None
        if claims is None:
            claims = self._verify(token, key)
            with self._lock:
                if generation == self._generation and isinstance(claims["exp"], int | float):
                    self._verified[token] = claims
        return dict(claims)  # a copy: a caller may change what it is given

    @staticmethod
    def _verify(token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(token, key.key, algorithms=[key.algorithm_name], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Token has expired") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("Signature verification failed") from None
        except (jwt.PyJWTError, RecursionError):
            raise InvalidToken("Invalid token") from None


def key_id(token: str) -> str | None:
    """The `kid` a token's header names (None when it names none); InvalidToken for a garbled header."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except (jwt.PyJWTError, RecursionError):
        # RecursionError: a forged header of deeply nested arrays.
        raise InvalidToken("Invalid token") from None
    return kid if isinstance(kid, str) else None
