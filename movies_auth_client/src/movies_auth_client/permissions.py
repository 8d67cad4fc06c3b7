"""Permission checks: the question sent to movies_auth, how its answer is read, and the short answer cache."""

from __future__ import annotations

import enum
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cachetools import TLRUCache

from movies_auth_client.contract import SUBJECT_TOKEN_HEADER
from movies_auth_client.errors import InvalidToken

MAX_CACHED_ANSWERS = 100_000

# A condition is a permission name, {"any": [condition, ...]} or {"all": [condition, ...]}, nested.
Condition = str | dict[str, Any]


def condition_text(condition: Condition) -> str:
    """The condition as movies_auth reads it in the `permissions` query parameter."""
    return condition if isinstance(condition, str) else json.dumps(condition, separators=(",", ":"))


class Reading(enum.Enum):
    """What a response to a permission check means."""

    GRANTED = "granted"
    DENIED = "denied"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (a name)
    SERVICE_REFUSED = "service_refused"  # our own service token was refused
    FAILURE = "failure"  # 5xx: the breaker counts it
    UNUSABLE = "unusable"  # an answer that is no answer; not movies_auth being down


@dataclass(frozen=True, slots=True)
class Verdict:
    """A response read: its meaning and, for an invalid token, movies_auth's message."""

    reading: Reading
    detail: str = ""


def read(response: httpx.Response) -> Verdict:
    """What movies_auth's response to a permission check says."""
    status = response.status_code
    if status >= 500:
        return Verdict(Reading.FAILURE, f"HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if status == 200:
        valid = body.get("valid") if isinstance(body, dict) else None
        if not isinstance(valid, bool):
            return Verdict(Reading.UNUSABLE, "a 200 without a verdict")
        return Verdict(Reading.GRANTED if valid else Reading.DENIED)
    if status in (401, 422):
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, dict) or SUBJECT_TOKEN_HEADER not in errors:
            # The refusal is of our own token (sent as the bearer), not of the caller's.
            return Verdict(Reading.SERVICE_REFUSED, f"HTTP {status}")
        message = body.get("msg")
        return Verdict(Reading.INVALID_TOKEN, message if isinstance(message, str) else "Invalid token")
    if status in (403, 404):
        # A refusal to say is an answer, and it grants nothing.
        return Verdict(Reading.DENIED)
    return Verdict(Reading.UNUSABLE, f"HTTP {status}")


@dataclass(frozen=True, slots=True)
class _Answer:
    granted: bool | None  # None: the token was refused, with `detail`
    detail: str
    expires_at: float
    refresh_from: float  # from then on a check may refresh it ahead of its expiry (inf: never)


class AnswerCache:
    """Answers to (token, condition) for a few seconds; a grant never outlives the token's own expiry.

    `refresh_ahead`: in the last seconds of an answer's life (at most a fifth of it) a check may refresh it
    while the answer is still served; the answer's expiry stays what it was, so nothing is seen later.
    """

    def __init__(self, ttl: float, refresh_ahead: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        # A short TTL keeps most of its life free of refreshes: answers are reused, not asked again at once.
        self._refresh_window = min(refresh_ahead, ttl / 5)
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: TLRUCache[tuple[str, str], _Answer] = TLRUCache(
            maxsize=MAX_CACHED_ANSWERS, ttu=lambda _key, answer, _now: answer.expires_at, timer=clock
        )

    @property
    def enabled(self) -> bool:
        """Whether answers are kept at all (a TTL of 0: every check asks movies_auth)."""
        return self._ttl > 0

    def lookup(self, token: str, condition: str) -> tuple[bool | None, bool]:
        """The cached answer (None: none; InvalidToken for a refused token), and whether it is in its refresh
        window: still served, but worth asking again."""
        if self._ttl <= 0:
            return None, False
        with self._lock:
            answer = self._answers.get((token, condition))
        if answer is None:
            return None, False
        if answer.granted is None:
            raise InvalidToken(answer.detail)
        return answer.granted, self._clock() >= answer.refresh_from

    def put(self, token: str, condition: str, verdict: Verdict, claims: dict[str, Any]) -> None:
        """Keep a verdict of GRANTED, DENIED or INVALID_TOKEN for the answer TTL."""
        ttl = self._ttl
        if verdict.reading is Reading.GRANTED:
            expires = claims.get("exp")
            ttl = min(ttl, expires - time.time()) if isinstance(expires, int | float) else 0
        if ttl <= 0:
            return
        granted = None if verdict.reading is Reading.INVALID_TOKEN else verdict.reading is Reading.GRANTED
        expires_at = self._clock() + ttl
        # A refused token stays refused, and a grant cut short by the token's expiry would come back no longer.
        refreshable = granted is not None and ttl >= self._ttl
        refresh_from = expires_at - self._refresh_window if refreshable else math.inf
        with self._lock:
            self._answers[(token, condition)] = _Answer(granted, verdict.detail, expires_at, refresh_from)
