"""Asking movies_auth what a caller may see, without ever waiting on it while it is down."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from cachetools import TLRUCache

from movies_async_api.access import ANONYMOUS, DEGRADED, PRO_PERMISSION, Access, Caller
from movies_async_api.breaker import CircuitBreaker
from movies_async_api.request_context import REQUEST_ID_HEADER

logger = logging.getLogger(__name__)

PRO_CONDITION = json.dumps({"any": [PRO_PERMISSION]})
MAX_TOKEN_LENGTH = 8192
MAX_CACHED_ANSWERS = 100_000


class InvalidToken(Exception):
    """The token is malformed, expired, revoked or forged: the caller gets 401."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Answer:
    caller: Caller | None
    error: str | None
    expires_at: float

    def resolve(self) -> Caller:
        if self.caller is None:
            raise InvalidToken(self.error or "Invalid token")
        return self.caller


class AuthClient:
    """One shared HTTP client to movies_auth, behind a circuit breaker, with a short-lived answer cache."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        answer_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._breaker = breaker
        self._answer_ttl = answer_ttl
        self._clock = clock
        self._answers: TLRUCache[str, _Answer] = TLRUCache(
            maxsize=MAX_CACHED_ANSWERS, ttu=lambda _token, answer, _now: answer.expires_at, timer=clock
        )

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker in front of movies_auth."""
        return self._breaker

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def identify(self, token: str | None, request_id: str) -> Caller:
        """What the bearer of `token` may see; raises InvalidToken for a token movies_auth rejects."""
        if not token:
            return ANONYMOUS
        # A cached token was parsed when its answer came; a hit costs one dictionary lookup.
        if (answer := self._answers.get(token)) is not None:
            return answer.resolve()
        claims = _unverified_claims(token)
        subject = _subject(claims)
        if not self._breaker.allow():
            return DEGRADED
        try:
            response = await self._http.get(
                f"/auth/api/v1/users/{subject}/combined_permissions/validation",
                params={"permissions": PRO_CONDITION},
                headers={"Authorization": f"Bearer {token}", REQUEST_ID_HEADER: request_id},
            )
        except httpx.HTTPError as error:
            logger.warning("movies_auth unreachable: %s", type(error).__name__)
            self._breaker.failed()
            return DEGRADED
        except BaseException:
            # Cancelled mid-call: count it, so a probe never leaves the breaker half-open for good.
            self._breaker.failed()
            raise
        answer = self._interpret(response, claims)
        if answer is None:
            logger.warning("movies_auth answered %d with an unusable body", response.status_code)
            self._breaker.failed()
            return DEGRADED
        self._breaker.succeeded()
        if answer.expires_at > self._clock():
            self._answers[token] = answer
        return answer.resolve()

    def _interpret(self, response: httpx.Response, claims: dict) -> _Answer | None:
        """The answer in movies_auth's response; None when the response is a failure rather than an answer."""
        status = response.status_code
        if status >= 500:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        if status == 200:
            valid = body.get("valid")
            if not isinstance(valid, bool):
                return None
            return self._answer(Caller(Access.FULL if valid else Access.PUBLIC), None, claims)
        if status in (401, 422):
            message = body.get("msg")
            return self._answer(None, message if isinstance(message, str) else "Invalid token", claims)
        if status in (403, 404):
            # A refusal to say is an answer, and it grants nothing.
            return self._answer(ANONYMOUS, None, claims)
        return None

    def _answer(self, caller: Caller | None, error: str | None, claims: dict) -> _Answer:
        ttl = self._answer_ttl
        expires = claims.get("exp")
        if caller is not None and caller.access is Access.FULL:
            # A grant is never reused past the token's own expiry.
            ttl = min(ttl, expires - time.time()) if isinstance(expires, int | float) else 0
        return _Answer(caller, error, self._clock() + ttl)


def _unverified_claims(token: str) -> dict:
    """The token's payload, unverified: only to learn whose permissions to ask about. movies_auth verifies."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3:
        raise InvalidToken("Invalid token")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error) as error:
        raise InvalidToken("Invalid token") from error
    if not isinstance(payload, dict):
        raise InvalidToken("Invalid token")
    return payload


def _subject(claims: dict) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims.get("sub")))
    except ValueError as error:
        raise InvalidToken("Invalid token") from error
