"""This service's own token: what is held, when to renew it, and how long to wait after a failed try.

The fetching is the client's (sync or async); this module holds the decisions both share.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from movies_auth_client.errors import ServiceTokenUnavailable

SERVICE_TOKEN_PATH = "/auth/api/v1/service_token"  # noqa: S105 (a path)
# Renewed once this share of its life has passed, so a slow or briefly unreachable movies_auth
# still leaves time to try again before the token expires.
RENEW_AFTER = 0.75
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 10.0


@dataclass(frozen=True, slots=True)
class Token:
    """A service token and the monotonic times to renew it and to stop using it."""

    value: str
    renew_at: float
    expires_at: float


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failed tries in a row: doubling, capped, and jittered.

    The jitter ("equal jitter": half fixed, half random) keeps the workers of a fleet that all lost
    movies_auth at once from asking again in step.
    """
    ceiling = min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** max(0, failures - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)


class ServiceTokenState:
    """The token held now, shared by every request of the process."""

    def __init__(self, name: str, secret: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._secret = secret
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()

    @property
    def token(self) -> Token | None:
        """The token held, good or not."""
        return self._token

    def current(self) -> str:
        """The token, if it is good now; ServiceTokenUnavailable if there is none (yet)."""
        token = self._token
        if token is None or self._clock() >= token.expires_at:
            raise ServiceTokenUnavailable("no service token yet")
        return token.value

    def seconds_to_renewal(self) -> float:
        """How long the held token may still be used before renewing it; 0 when there is none."""
        token = self._token
        return 0.0 if token is None else max(0.0, token.renew_at - self._clock())

    def discard(self, value: str) -> bool:
        """Forget a token movies_auth refused (its secret rotated, or the service deleted); whether it was held."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
                return True
            return False

    def request(self) -> tuple[str, dict[str, str]]:
        """The path and JSON body of the client-credentials request for a new token."""
        return SERVICE_TOKEN_PATH, {"service_name": self.name, "secret": self._secret}

    def accept(self, response: httpx.Response, started: float) -> str:
        """Keep the token in movies_auth's answer to a request sent at `started`; ServiceTokenUnavailable if none."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            raise ServiceTokenUnavailable(f"HTTP {response.status_code}")
        value, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not isinstance(lifetime, int) or lifetime <= 0:
            raise ServiceTokenUnavailable("an answer without a token")
        # Times count from when the request left: a slow answer must not make the token outlive its expiry.
        self._token = Token(value, started + lifetime * RENEW_AFTER, started + lifetime)
        return value
