"""This service's own token for movies_auth: fetched at start-up, renewed in the background before it expires."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

logger = logging.getLogger(__name__)

SERVICE_TOKEN_PATH = "/auth/api/v1/service_token"  # noqa: S105 (a path)
# Renewed once this share of its life has passed, so a slow or briefly unreachable movies_auth
# still leaves time to try again before the token expires.
RENEW_AFTER = 0.75
RETRY_DELAYS = (0.5, 1, 2, 5, 10)


class ServiceTokenUnavailable(Exception):
    """movies_auth gave no service token: unreachable, refusing the secret, or answering nonsense."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float
    expires_at: float


class ServiceToken:
    """A service token got with the client-credentials grant (`service_name` + `secret`), kept fresh."""

    def __init__(
        self, http: httpx.AsyncClient, name: str, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._http = http
        self._name = name
        self._secret = secret
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        """A token good for now; fetched first if there is none (several callers share one fetch)."""
        token = self._token
        if token is not None and self._clock() < token.expires_at:
            return token.value
        return await self.renew(stale=token)

    def discard(self, value: str) -> None:
        """Forget a token movies_auth refused (its secret was rotated, or the service deleted)."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def renew(self, stale: _Token | None = None) -> str:
        """Fetch a new token, unless another caller already replaced `stale` meanwhile."""
        async with self._lock:
            if self._token is not None and self._token is not stale and self._clock() < self._token.expires_at:
                return self._token.value
            self._token = await self._fetch()
            return self._token.value

    async def keep_fresh(self) -> None:
        """Run for the app's life: renew each token before it expires, retrying with backoff when that fails."""
        failures = 0
        while True:
            token = self._token
            if token is not None and failures == 0:
                await asyncio.sleep(max(0.0, token.renew_at - self._clock()))
            try:
                await self.renew(stale=self._token)
                failures = 0
            except ServiceTokenUnavailable as error:
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                logger.warning("No service token from movies_auth (%s); retrying in %gs", error, delay)
                await asyncio.sleep(delay)

    async def _fetch(self) -> _Token:
        started = self._clock()
        try:
            response = await self._http.post(
                SERVICE_TOKEN_PATH, json={"service_name": self._name, "secret": self._secret}
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ServiceTokenUnavailable(type(error).__name__) from error
        if response.status_code != 200 or not isinstance(body, dict):
            raise ServiceTokenUnavailable(f"HTTP {response.status_code}")
        value, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not isinstance(lifetime, int) or lifetime <= 0:
            raise ServiceTokenUnavailable("an answer without a token")
        logger.info("Service token for %s obtained, valid for %ds", self._name, lifetime)
        return _Token(value, started + lifetime * RENEW_AFTER, started + lifetime)
