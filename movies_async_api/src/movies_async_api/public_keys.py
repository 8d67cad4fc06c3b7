"""movies_auth's public signing keys (its JWKS), to turn away forged, garbled and expired tokens locally.

Only a signature and an expiry can be checked here; revocation and permissions are movies_auth's to
answer. Without keys (movies_auth signs with a shared secret, or has not been reached yet) tokens go
to movies_auth unchecked, as they always may.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
import jwt

logger = logging.getLogger(__name__)

JWKS_PATH = "/auth/.well-known/jwks.json"
REFETCH_INTERVAL = 300.0  # as long as movies_auth lets the set be cached
MIN_REFETCH_GAP = 10.0  # between fetches for unknown keys, however many tokens name one


class TokenRejected(Exception):
    """The token is not one movies_auth signed, or it has expired."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PublicKeys:
    """The JWK Set of movies_auth, fetched on start, every few minutes, and when a token names a new key."""

    def __init__(self, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._tried_at = -MIN_REFETCH_GAP

    async def refresh(self) -> bool:
        """Fetch the set again; whether it came (a failure keeps the keys already known)."""
        self._tried_at = self._clock()
        try:
            response = await self._http.get(JWKS_PATH)
            response.raise_for_status()
            body = response.json()
            keys = jwt.PyJWKSet.from_dict(body).keys if body.get("keys") else []
        except (httpx.HTTPError, ValueError, AttributeError, jwt.PyJWTError) as error:
            logger.warning("movies_auth's public keys could not be fetched: %s", type(error).__name__)
            return False
        self._keys = {key.key_id: key for key in keys if key.key_id}
        return True

    async def verify(self, token: str) -> dict | None:
        """The token's claims if its signature and expiry check out; None when there is no key to check with."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise TokenRejected("Invalid token") from error
        key = await self._find(kid)
        if key is None:
            return None
        try:
            return jwt.decode(token, key.key, algorithms=[key.algorithm_name], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("Token has expired") from error
        except jwt.InvalidSignatureError as error:
            raise TokenRejected("Signature verification failed") from error
        except jwt.DecodeError as error:
            raise TokenRejected("Invalid token") from error
        except jwt.PyJWTError as error:
            raise TokenRejected(str(error)) from error

    async def keep_fresh(self) -> None:
        """Run for the app's life: fetch the set again every few minutes, so retired keys drop out."""
        while True:
            await asyncio.sleep(REFETCH_INTERVAL)
            await self.refresh()

    async def _find(self, kid: object) -> jwt.PyJWK | None:
        if not isinstance(kid, str):
            if self._keys:  # movies_auth names its key in every token it signs
                raise TokenRejected("Signature verification failed")
            return None
        key = self._keys.get(kid)
        if key is None and self._clock() - self._tried_at >= MIN_REFETCH_GAP and await self.refresh():
            key = self._keys.get(kid)
            if key is None and self._keys:
                raise TokenRejected("Signature verification failed")
        return key
