"""The circuit breaker in front of a real movies_auth that goes away and comes back: after a run of refused
connections nothing is sent, after the cool-down one probe decides; and the breaker's own rules."""

from __future__ import annotations

import os
import signal

import pytest

from client_support import AsyncDriver, RecordingObserver, serve
from movies_auth_client import AuthUnavailable, BreakerState, Call, CircuitBreaker, Outcome
from movies_auth_client.service_token import MAX_RETRY_DELAY, retry_delay
from testkit.ports import free_port

THRESHOLD, COOLDOWN = 3, 1.0


@pytest.fixture
def second_auth(auth, tmp_path):
    """Another movies_auth server on the same stores, for a test to stop and start; its service tokens outlive
    the test, so that only the breaker decides what is sent."""
    port = free_port()
    process = serve({**auth.env, "JWT_SERVICE_TOKEN_EXPIRES": "600"}, port, tmp_path / "second.log")
    process.start()
    yield process, f"http://127.0.0.1:{port}"
    process.stop()


def test_a_movies_auth_that_goes_away_opens_the_breaker_and_a_probe_closes_it(make_client, auth, second_auth):
    process, url = second_auth
    observer = RecordingObserver()
    client = make_client(
        url, **auth.account, failure_threshold=THRESHOLD, cooldown=COOLDOWN, answer_ttl=0, observer=observer
    )
    _, token = auth.user(role="subscriber")
    assert client.has_permission(token, "pro_read") is True

    crash(process)
    for _ in range(THRESHOLD + 5):
        with pytest.raises(AuthUnavailable):
            client.has_permission(token, "pro_read")

    assert client.breaker.state is BreakerState.OPEN
    assert observer.count(Call.PERMISSION_CHECK, Outcome.ERROR) == THRESHOLD
    assert observer.count(Call.PERMISSION_CHECK, Outcome.SHORT_CIRCUITED) == 5

    process.start()
    client.wait(COOLDOWN)
    assert client.has_permission(token, "pro_read") is True
    assert client.breaker.state is BreakerState.CLOSED
    assert observer.breaker_states == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_callers_do_not_wait_on_the_probe_of_a_movies_auth_that_hangs(auth, second_auth):
    process, url = second_auth
    timeout = 1.0
    client = AsyncDriver(
        url, **auth.account, failure_threshold=1, cooldown=COOLDOWN, timeout=timeout, answer_ttl=0.2, refresh_ahead=0
    )
    client.start()
    _, token = auth.user(role="subscriber")
    try:
        assert client.has_permission(token, "pro_read") is True
        os.killpg(process.process.pid, signal.SIGSTOP)  # alive, connections accepted, nothing answered
        client.wait(0.3)  # past the answer's life
        with pytest.raises(AuthUnavailable):
            client.has_permission(token, "pro_read")
        assert client.breaker.state is BreakerState.OPEN
        client.wait(COOLDOWN)

        outcomes = client.each_at_once(10, token, "pro_read")
    finally:
        os.killpg(process.process.pid, signal.SIGCONT)
        client.close()

    probes = [seconds for seconds, _ in outcomes if seconds >= timeout * 0.9]
    others = [(seconds, outcome) for seconds, outcome in outcomes if seconds < timeout * 0.9]
    assert len(probes) == 1  # the breaker's single probe waits out the timeout ...
    assert all(isinstance(outcome, AuthUnavailable) for _, outcome in others)  # ... nobody else waits on it
    assert max(seconds for seconds, _ in others) < 0.2


def test_refusals_of_the_caller_are_answers_never_failures(make_client, auth):
    client = make_client(**auth.account, failure_threshold=1, answer_ttl=0)
    _, token = auth.user()
    assert auth.call("DELETE", "/auth_token", token=token).status_code == 204

    for _ in range(5):
        with pytest.raises(Exception, match="revoked"):
            client.has_permission(token, "pro_read")
        with pytest.raises(AuthUnavailable, match="HTTP 400"):
            client.has_permission(auth.user()[1], {"any": "not-a-list"})

    assert client.breaker.state is BreakerState.CLOSED


def crash(process) -> None:
    """movies_auth dies at once (SIGKILL to its process group), as in a crash or a lost host."""
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(timeout=30)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_the_breaker_counts_only_consecutive_failures():
    breaker = CircuitBreaker(3, 10, clock=FakeClock())
    for _ in range(5):
        breaker.failed()
        breaker.failed()
        breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.unit
def test_the_breaker_lets_one_probe_through_after_the_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker(2, 10, clock=clock)
    breaker.failed()
    breaker.failed()
    assert not breaker.allow()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()
    breaker.succeeded()
    assert breaker.allow()


@pytest.mark.unit
def test_a_failed_probe_opens_the_breaker_for_another_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker(2, 10, clock=clock)
    breaker.failed()
    breaker.failed()
    clock.now = 10
    assert breaker.allow()
    breaker.failed()
    clock.now = 19.9
    assert not breaker.allow()
    clock.now = 20
    assert breaker.allow()


@pytest.mark.unit
def test_service_token_retries_back_off_with_jitter_up_to_a_cap():
    for failures in range(1, 12):
        ceiling = min(MAX_RETRY_DELAY, 0.5 * 2 ** (failures - 1))
        delays = {retry_delay(failures) for _ in range(200)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 100  # jittered: a fleet does not retry in step
    assert max(retry_delay(50) for _ in range(100)) <= MAX_RETRY_DELAY
