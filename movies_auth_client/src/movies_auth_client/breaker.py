"""A circuit breaker: after a run of failures, stop calling movies_auth until one probe succeeds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from movies_auth_client.observer import BreakerState, NullObserver, Observer

logger = logging.getLogger(__name__)


class CircuitBreaker:
    """Closed: calls go through. Open: none do, for `cooldown` seconds. Then one probe decides.

    Shared by threads (the sync client) or by the tasks of one event loop (the async client): its
    methods hold a lock for a few instructions and never block on I/O.
    """

    def __init__(
        self,
        failure_threshold: int,
        cooldown: float,
        *,
        name: str = "movies_auth",
        clock: Callable[[], float] = time.monotonic,
        observer: Observer | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._observer = observer or NullObserver()
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        """Where the breaker stands now."""
        return self._state

    def allow(self) -> bool:
        """Whether to make a call now; past the cool-down, the first caller becomes the single probe."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
                self._move(BreakerState.HALF_OPEN)
                logger.info("%s circuit half-open: probing", self.name)
                return True
            return False

    def succeeded(self) -> None:
        """The dependency answered; a probe's success closes the breaker."""
        with self._lock:
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                logger.warning("%s circuit closed: the dependency answers again", self.name)
                self._move(BreakerState.CLOSED)

    def failed(self) -> None:
        """The dependency failed; enough failures in a row, or a failed probe, open the breaker."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN:
                    logger.warning("%s circuit open after %d failure(s)", self.name, self._failures)
                    self._move(BreakerState.OPEN)
                self._opened_at = self._clock()

    def _move(self, state: BreakerState) -> None:
        self._state = state
        self._observer.breaker_changed(state)
