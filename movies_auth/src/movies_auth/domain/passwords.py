"""Password hashing with argon2id: verification that costs the same whether or not the user exists, whatever
parameters the stored hash was made with, and a bound on how many hashes a worker computes at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

from movies_auth.domain.errors import DomainError
from movies_auth.settings import Settings

# How long a hash may wait for its turn before the request is refused.
HASHING_WAIT_SECONDS = 5.0
# Each new duration's share of a parameter set's running average.
_SMOOTHING = 0.2
_PARAMETER_SETS_KEPT = 16


class PasswordHashingBusy(DomainError):
    """Too many password hashes are waiting in this worker: come back shortly."""

    status_code = 503
    headers = (("Retry-After", "1"),)

    def __init__(self) -> None:
        super().__init__("Too many sign-ins at once, try again shortly")


class HashingSlots:
    """At most `concurrency` hashes computed at once, `queue` more waiting; any beyond are refused at once.

    A hash holds a thread and, with argon2's lanes, several cores; without a bound a flood of hashes takes
    every thread of a worker and the token checks queue behind them.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self._running = threading.BoundedSemaphore(concurrency)
        self._admitted = threading.BoundedSemaphore(concurrency + queue)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one hashing slot; `PasswordHashingBusy` when the queue is full or the wait too long."""
        if not self._admitted.acquire(blocking=False):
            raise PasswordHashingBusy()
        try:
            if not self._running.acquire(timeout=HASHING_WAIT_SECONDS):
                raise PasswordHashingBusy()
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()


class Passwords:
    """The app's argon2id hasher at the configured parameters."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.slots = HashingSlots(settings.password_hashing_concurrency, settings.password_hashing_queue)
        # Verified against when the account does not exist, so both answers cost one verification:
        # made up front, or the first unknown email a worker sees would cost two hashes.
        started = time.perf_counter()
        self._dummy_hash = self.hasher.hash("no account has this password")
        self._lock = threading.Lock()
        # Seconds a verification takes, by the parameters of the hash verified (a running average).
        self._durations = {_parameters(self._dummy_hash): time.perf_counter() - started}

    def hash(self, password: str) -> str:
        """A fresh argon2id hash of `password`."""
        with self.slots.slot():
            return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash, spend the same time and say no.

        Every answer takes at least as long as a verification with the costliest parameters seen lately, so
        a hash made with older (cheaper) parameters does not tell a known account from an unknown email.
        """
        stored = password_hash or self._dummy_hash
        with self.slots.slot():
            started = time.perf_counter()
            try:
                matches = self.hasher.verify(stored, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                matches = False
            elapsed = time.perf_counter() - started
        time.sleep(self._shortfall(_parameters(stored), elapsed))
        return matches

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        return self.hasher.check_needs_rehash(password_hash)

    def _shortfall(self, parameters: str, elapsed: float) -> float:
        """Record how long a verification with `parameters` took; how much shorter than one with the costliest
        parameters it was (0 for those themselves: only cheaper, older hashes wait)."""
        with self._lock:
            previous = self._durations.get(parameters)
            if previous is not None or len(self._durations) < _PARAMETER_SETS_KEPT:
                average = elapsed if previous is None else previous + _SMOOTHING * (elapsed - previous)
                self._durations[parameters] = average
            costliest = max(self._durations, key=self._durations.__getitem__)
            return 0.0 if costliest == parameters else max(0.0, self._durations[costliest] - elapsed)


def _parameters(password_hash: str) -> str:
    """The algorithm and parameters of an encoded hash: `$argon2id$v=19$m=65536,t=3,p=4`."""
    return "$".join(password_hash.split("$", 4)[:4])


def init_app(app: Flask, settings: Settings) -> None:
    """Bind a hasher built from `settings` to the app."""
    app.extensions["passwords"] = Passwords(settings)


def passwords() -> Passwords:
    """The current app's hasher."""
    return current_app.extensions["passwords"]
