"""Observer hooks: how a service counts the library's calls and outcomes (e.g. as Prometheus metrics).

Implement any of the methods of `Observer` and pass the object as `observer=`; the library calls them
inline, so they must be quick and must not raise.
"""

from __future__ import annotations

import enum
from typing import Protocol


class Call(enum.StrEnum):
    """The calls the library makes to movies_auth."""

    JWKS = "jwks"
    SERVICE_TOKEN = "service_token"  # noqa: S105 (a call name)
    PERMISSION_CHECK = "permission_check"


class Outcome(enum.StrEnum):
    """How a call or a check ended."""

    OK = "ok"  # an answer: granted, refused or a verdict on the token
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (an outcome name)
    ERROR = "error"  # connection error or 5xx: counted by the breaker
    TIMEOUT = "timeout"  # counted by the breaker
    UNUSABLE = "unusable"  # an answer that is no answer (a 4xx we do not expect, a body of the wrong shape)
    SHORT_CIRCUITED = "short_circuited"  # the breaker was open: nothing was sent
    CACHED = "cached"  # answered from the short answer cache: nothing was sent
    SHARED = "shared"  # answered by the same check another caller had in flight: nothing more was sent


class BreakerState(enum.StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Observer(Protocol):
    """What the library reports; every method is optional in spirit: `NullObserver` does nothing."""

    def call_finished(self, call: Call, outcome: Outcome, seconds: float) -> None:
        """A call to movies_auth ended (or was not made: `SHORT_CIRCUITED`, `CACHED`, `SHARED`, with 0 seconds)."""

    def token_verified(self, outcome: Outcome) -> None:
        """A token was checked locally against the key set: `OK` or `INVALID_TOKEN`."""

    def breaker_changed(self, state: BreakerState) -> None:
        """The circuit breaker in front of movies_auth moved to `state`."""


class NullObserver:
    """The default observer: reports go nowhere."""

    def call_finished(self, call: Call, outcome: Outcome, seconds: float) -> None:
        """Ignore the report."""

    def token_verified(self, outcome: Outcome) -> None:
        """Ignore the report."""

    def breaker_changed(self, state: BreakerState) -> None:
        """Ignore the report."""
