"""A circuit breaker: after a run of failures, stop calling a dependency until one probe succeeds."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Closed: calls go through. Open: none do, for `cooldown` seconds. Then one probe decides.

    One instance per process and event loop; its methods never await, so no lock is needed.
    """

    def __init__(self, name: str, failure_threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> State:
        """Where the breaker stands now."""
        return self._state

    def allow(self) -> bool:
        """Whether to make a call now; past the cool-down, the first caller becomes the single probe."""
        if self._state is State.CLOSED:
            return True
        if self._state is State.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._state = State.HALF_OPEN
            logger.info("%s circuit half-open: probing", self.name)
            return True
        return False

    def succeeded(self) -> None:
        """The dependency answered; a probe's success closes the breaker."""
        if self._state is not State.CLOSED:
            logger.warning("%s circuit closed: the dependency answers again", self.name)
        self._state = State.CLOSED
        self._failures = 0

    def failed(self) -> None:
        """The dependency failed; enough failures in a row, or a failed probe, open the breaker."""
        self._failures += 1
        if self._state is State.HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state is not State.OPEN:
                logger.warning("%s circuit open after %d failure(s)", self.name, self._failures)
            self._state = State.OPEN
            self._opened_at = self._clock()
