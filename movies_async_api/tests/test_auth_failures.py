"""When movies_auth fails (refuses, hangs, answers 5xx or garbage) the API answers anyway, as to an anonymous
caller, says so in `X-Auth-Degraded`, and its circuit breaker stops calling until one probe succeeds.
A 401 or 403 is an answer, not a failure.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from movies_async_api.access import Access
from movies_async_api.auth_client import AuthClient, InvalidToken
from movies_async_api.breaker import CircuitBreaker, State
from support import FILMS, bearer, free_port, unsigned_token

THRESHOLD, COOLDOWN = 3, 0.3
FAST = {"auth_failure_threshold": THRESHOLD, "auth_cooldown": COOLDOWN, "auth_read_timeout": 0.2}


def is_public(films: list[dict]) -> bool:
    return all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in films)


def assert_degraded(response) -> None:
    assert response.status_code == 200
    assert response.headers["X-Auth-Degraded"] == "1"
    assert is_public(response.json())


@pytest.mark.parametrize("behaviour", ["error", "garbage", "wrong shape", "hang"])
def test_a_failing_auth_service_opens_the_breaker_and_is_left_alone(make_client, stub_auth, behaviour):
    stub_auth.behaviour = behaviour
    client = make_client(stub_auth.url, **FAST)
    headers = bearer(unsigned_token())
    for _ in range(THRESHOLD):
        assert_degraded(client.get(FILMS, headers=headers))
    assert stub_auth.calls == THRESHOLD
    assert client.app.state.auth.breaker.state is State.OPEN
    for _ in range(10):
        assert_degraded(client.get(FILMS, headers=headers))
    assert stub_auth.calls == THRESHOLD  # nothing was sent while open


def test_a_refused_connection_opens_the_breaker(make_client):
    client = make_client(f"http://127.0.0.1:{free_port()}", **FAST)
    for _ in range(THRESHOLD + 5):
        assert_degraded(client.get(FILMS, headers=bearer(unsigned_token())))
    assert client.app.state.auth.breaker.state is State.OPEN


def test_after_the_cooldown_one_successful_probe_closes_the_breaker(make_client, stub_auth):
    stub_auth.behaviour = "error"
    client = make_client(stub_auth.url, **FAST)
    headers = bearer(unsigned_token())
    for _ in range(THRESHOLD):
        client.get(FILMS, headers=headers)
    stub_auth.behaviour = "pro"
    assert_degraded(client.get(FILMS, headers=headers))  # still open: nobody asked
    assert stub_auth.calls == THRESHOLD
    time.sleep(COOLDOWN)
    probe = client.get(FILMS, headers=headers)
    assert probe.status_code == 200
    assert "X-Auth-Degraded" not in probe.headers
    assert not is_public(probe.json())
    assert client.app.state.auth.breaker.state is State.CLOSED
    assert stub_auth.calls == THRESHOLD + 1


def test_a_failed_probe_opens_the_breaker_again_at_once(make_client, stub_auth):
    stub_auth.behaviour = "error"
    client = make_client(stub_auth.url, **FAST)
    headers = bearer(unsigned_token())
    for _ in range(THRESHOLD):
        client.get(FILMS, headers=headers)
    time.sleep(COOLDOWN)
    assert_degraded(client.get(FILMS, headers=headers))
    assert stub_auth.calls == THRESHOLD + 1
    for _ in range(5):
        assert_degraded(client.get(FILMS, headers=headers))
    assert stub_auth.calls == THRESHOLD + 1


def test_only_one_probe_goes_out_however_many_requests_arrive(stub_auth):
    stub_auth.behaviour = "hang"

    async def scenario() -> list:
        breaker = CircuitBreaker("auth", 1, COOLDOWN)
        async with httpx.AsyncClient(base_url=stub_auth.url, timeout=0.5) as http:
            auth = AuthClient(http, breaker, answer_ttl=0)
            await auth.identify(unsigned_token(), "opening")
            assert breaker.state is State.OPEN
            await asyncio.sleep(COOLDOWN)
            return await asyncio.gather(*(auth.identify(unsigned_token(), f"r{n}") for n in range(20)))

    callers = asyncio.run(scenario())
    assert stub_auth.calls == 2  # the call that opened it, and one probe
    assert all(caller.degraded and caller.access is Access.PUBLIC for caller in callers)


@pytest.mark.parametrize("behaviour", ["revoked", "forbidden"])
def test_a_401_or_403_is_an_answer_that_grants_nothing_and_never_opens_the_breaker(make_client, stub_auth, behaviour):
    stub_auth.behaviour = behaviour
    client = make_client(stub_auth.url, **FAST)
    for _ in range(THRESHOLD * 3):
        response = client.get(FILMS, headers=bearer(unsigned_token()))
        assert "X-Auth-Degraded" not in response.headers
        if behaviour == "revoked":
            assert response.status_code == 401
            assert response.json() == {"detail": "Token has been revoked"}
        else:
            assert response.status_code == 200
            assert is_public(response.json())
    assert client.app.state.auth.breaker.state is State.CLOSED
    assert stub_auth.calls == THRESHOLD * 3


def test_anonymous_callers_never_reach_the_auth_service(make_client, stub_auth):
    client = make_client(stub_auth.url, **FAST)
    response = client.get(FILMS)
    assert response.status_code == 200
    assert "X-Auth-Degraded" not in response.headers
    assert stub_auth.calls == 0


def test_the_request_id_is_forwarded(make_client, stub_auth):
    client = make_client(stub_auth.url, **FAST)
    client.get(FILMS, headers={**bearer(unsigned_token()), "X-Request-Id": "abc-123"})
    assert stub_auth.request_ids == ["abc-123"]


@pytest.mark.parametrize(
    ("answer_ttl", "token_lifetime"),
    [(0.5, 900), (60, 0.5)],
    ids=["for the configured seconds", "never past the token expiry"],
)
def test_a_token_answer_is_reused_for_a_while(make_client, stub_auth, answer_ttl, token_lifetime):
    client = make_client(stub_auth.url, auth_answer_ttl=answer_ttl)
    headers = bearer(unsigned_token(lifetime=token_lifetime))
    for _ in range(5):
        assert not is_public(client.get(FILMS, headers=headers).json())
    assert stub_auth.calls == 1
    time.sleep(0.6)
    stub_auth.behaviour = "revoked"
    assert client.get(FILMS, headers=headers).status_code == 401
    assert stub_auth.calls == 2


def test_a_token_without_a_user_id_is_refused_without_asking(make_client, stub_auth):
    client = make_client(stub_auth.url)
    for subject in ("", "../../users", "1 OR 1=1"):
        assert client.get(FILMS, headers=bearer(unsigned_token(subject=subject))).status_code == 401
    assert stub_auth.calls == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_counts_only_consecutive_failures():
    breaker = CircuitBreaker("auth", 3, 10, clock=FakeClock())
    for _ in range(5):
        breaker.failed()
        breaker.failed()
        breaker.succeeded()
    assert breaker.state is State.CLOSED


def test_the_breaker_lets_one_probe_through_after_the_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker("auth", 2, 10, clock=clock)
    breaker.failed()
    breaker.failed()
    assert not breaker.allow()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()
    assert breaker.state is State.HALF_OPEN
    assert not breaker.allow()
    breaker.succeeded()
    assert breaker.allow()


def test_a_cancelled_probe_does_not_leave_the_breaker_half_open(stub_auth):
    stub_auth.behaviour = "hang"

    async def scenario() -> State:
        breaker = CircuitBreaker("auth", 1, 0)
        breaker.failed()
        async with httpx.AsyncClient(base_url=stub_auth.url, timeout=5) as http:
            probe = asyncio.create_task(AuthClient(http, breaker, 0).identify(unsigned_token(), "probe"))
            await asyncio.sleep(0.1)
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
        return breaker.state

    assert asyncio.run(scenario()) is State.OPEN


def test_invalid_token_answers_keep_the_auth_service_message(stub_auth):
    stub_auth.behaviour = "revoked"

    async def scenario() -> str:
        async with httpx.AsyncClient(base_url=stub_auth.url) as http:
            try:
                await AuthClient(http, CircuitBreaker("auth", 1, 1), 0).identify(unsigned_token(), "x")
            except InvalidToken as error:
                return error.detail
        return ""

    assert asyncio.run(scenario()) == "Token has been revoked"
