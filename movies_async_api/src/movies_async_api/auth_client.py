"""Asking movies_auth what a caller may see, without ever waiting on it while it is down.

Every call to movies_auth goes through `AuthClient`, which alone builds the headers: this service's
own token as the bearer, the caller's token as the subject, and the request id.
"""

from __future__ import annotations

import asyncio
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
from movies_async_api.public_keys import PublicKeys, TokenRejected
from movies_async_api.request_context import REQUEST_ID_HEADER
from movies_async_api.service_token import ServiceToken, ServiceTokenUnavailable

logger = logging.getLogger(__name__)

PRO_CONDITION = json.dumps({"any": [PRO_PERMISSION]})
SUBJECT_TOKEN_HEADER = "X-Subject-Token"  # noqa: S105 (a header name)
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
    """One shared HTTP client to movies_auth, behind a circuit breaker, with a short-lived answer cache.

    With a `service_token` it authenticates as this service; with `public_keys` it turns away forged,
    garbled and expired tokens itself, so they never cost a call.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        answer_ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        service_token: ServiceToken | None = None,
        public_keys: PublicKeys | None = None,
    ) -> None:
        self._http = http
        self._breaker = breaker
        self._answer_ttl = answer_ttl
        self._clock = clock
        self._service_token = service_token
        self._public_keys = public_keys
        self._background: list[asyncio.Task] = []
        self._answers: TLRUCache[str, _Answer] = TLRUCache(
            maxsize=MAX_CACHED_ANSWERS, ttu=lambda _token, answer, _now: answer.expires_at, timer=clock
        )

    async def start(self) -> None:
        """Get this service's token and movies_auth's public keys, then keep both fresh in the background.

        movies_auth being down does not stop the start: callers are served as anonymous until it answers.
        """
        if self._public_keys is not None:
            await self._public_keys.refresh()
            self._background.append(asyncio.create_task(self._public_keys.keep_fresh()))
        if self._service_token is not None:
            try:
                await self._service_token.get()
            except ServiceTokenUnavailable as error:
                logger.warning("No service token from movies_auth yet (%s); answering as to anonymous callers", error)
            self._background.append(asyncio.create_task(self._service_token.keep_fresh()))

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker in front of movies_auth."""
        return self._breaker

    async def aclose(self) -> None:
        """Stop the background renewals and close the pooled connections."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._http.aclose()

    async def identify(self, token: str | None, request_id: str) -> Caller:
        """What the bearer of `token` may see; raises InvalidToken for a token movies_auth rejects."""
        if not token:
            return ANONYMOUS
        # A cached token was parsed when its answer came; a hit costs one dictionary lookup.
        if (answer := self._answers.get(token)) is not None:
            return answer.resolve()
        claims = await self._claims(token)
        subject = _subject(claims)
        if not self._breaker.allow():
            return DEGRADED
        try:
            response = await self._ask_permission(subject, token, request_id)
        except (httpx.HTTPError, ServiceTokenUnavailable) as error:
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

    async def _claims(self, token: str) -> dict:
        """The token's claims: verified here when movies_auth's keys are known, else only parsed."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("Invalid token")
        if self._public_keys is not None:
            try:
                claims = await self._public_keys.verify(token)
            except TokenRejected as error:
                raise InvalidToken(error.detail) from None
            if claims is not None:
                return claims
        return _unverified_claims(token)

    async def _ask_permission(self, subject: uuid.UUID, token: str, request_id: str) -> httpx.Response:
        """movies_auth's answer on whether the token's user holds `pro_read`, asked as this service."""
        path = f"/auth/api/v1/users/{subject}/combined_permissions/validation"
        params = {"permissions": PRO_CONDITION}
        response = await self._http.get(path, params=params, headers=await self._headers(request_id, token))
        if response.status_code == 401 and not _blames_subject(response) and self._service_token is not None:
            # Our own token was refused (a rotated secret, a restart that lost it): get another, once.
            self._service_token.discard(response.request.headers["Authorization"].removeprefix("Bearer "))
            response = await self._http.get(path, params=params, headers=await self._headers(request_id, token))
        return response

    async def _headers(self, request_id: str, subject_token: str) -> dict[str, str]:
        """The headers of every call to movies_auth: who is asking, about which token, for which request."""
        headers = {SUBJECT_TOKEN_HEADER: subject_token, REQUEST_ID_HEADER: request_id}
        if self._service_token is not None:
            headers["Authorization"] = f"Bearer {await self._service_token.get()}"
        return headers

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
            if not _blames_subject(response):
                return None  # movies_auth refused this service, not the caller
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


def _blames_subject(response: httpx.Response) -> bool:
    """Whether a 401/422 is about the caller's token (sent as the subject) rather than this service's."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return False
    return isinstance(errors, dict) and SUBJECT_TOKEN_HEADER in errors


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
