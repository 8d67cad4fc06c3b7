"""When movies_auth fails (refuses, hangs, answers 5xx or garbage) the API answers anyway, as to an anonymous
caller, says so in `X-Auth-Degraded`, and its circuit breaker stops calling until one probe succeeds.
A 401 or 403 is an answer, not a failure; only refused connections, timeouts and 5xx count against movies_auth.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from movies_auth_client import AsyncAuthClient, AuthUnavailable, InvalidToken
from movies_auth_client import BreakerState as State

from movies_support import FILMS, PATIENT, SERVICE_NAME, STUB_SERVICE_SECRET, bearer, unsigned_token
from testkit.ports import free_port

THRESHOLD, COOLDOWN = 3, 0.3
FAST = {"auth_failure_threshold": THRESHOLD, "auth_cooldown": COOLDOWN, "auth_read_timeout": 0.2}


def is_public(films: list[dict]) -> bool:
    return all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in films)


def assert_degraded(response) -> None:
    assert response.status_code == 200
    assert response.headers["X-Auth-Degraded"] == "1"
    assert is_public(response.json())


def stand_in_client(stub_auth, failure_threshold: int, cooldown: float, timeout: float) -> AsyncAuthClient:
    """The library's client as the movies API builds it, in front of the stand-in, without local verification."""
    return AsyncAuthClient(
        stub_auth.url, service_name=SERVICE_NAME, service_secret=STUB_SERVICE_SECRET, answer_ttl=0,
        failure_threshold=failure_threshold, cooldown=cooldown, timeout=timeout, verify_locally=False,
    )  # fmt: skip


@pytest.mark.parametrize("behaviour", ["error", "hang"])
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


@pytest.mark.parametrize("behaviour", ["garbage", "wrong shape", "header too large"])
def test_an_unusable_answer_is_degraded_but_never_opens_the_breaker(make_client, stub_auth, behaviour):
    """A live movies_auth that answers oddly (or refuses an oversized header, 431) is not an outage: were it
    counted, anyone could open the breaker for every subscriber with a few odd requests."""
    stub_auth.behaviour = behaviour
    client = make_client(stub_auth.url, **{**FAST, **PATIENT})  # about answers, not timeouts: a loaded machine waits
    for _ in range(THRESHOLD * 3):
        assert_degraded(client.get(FILMS, headers=bearer(unsigned_token())))
    assert stub_auth.calls == THRESHOLD * 3
    assert client.app.state.auth.breaker.state is State.CLOSED


def test_a_refused_connection_opens_the_breaker(make_client, stub_auth):
    client = make_client(stub_auth.url, **FAST)
    stub_auth.close()  # gone after the start: the service token is held, the calls are refused
    for _ in range(THRESHOLD + 5):
        assert_degraded(client.get(FILMS, headers=bearer(unsigned_token())))
    assert client.app.state.auth.breaker.state is State.OPEN


def test_an_auth_service_down_from_the_start_costs_no_wait(make_client):
    started = time.monotonic()
    client = make_client(f"http://127.0.0.1:{free_port()}", **FAST)
    for _ in range(THRESHOLD + 5):
        assert_degraded(client.get(FILMS, headers=bearer(unsigned_token())))
    assert time.monotonic() - started < 3


def test_after_the_cooldown_one_successful_probe_closes_the_breaker(make_client, stub_auth):
    stub_auth.behaviour = "error"
    client = make_client(stub_auth.url, **FAST | PATIENT)  # failures are the stub's 500s, never a timeout
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
    client = make_client(stub_auth.url, **FAST | PATIENT)  # failures are the stub's 500s, never a timeout
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

    async def ask(auth: AsyncAuthClient, request_id: str) -> object:
        try:
            return await auth.has_permission(unsigned_token(), "pro_read", request_id)
        except AuthUnavailable as error:
            return error

    async def scenario() -> list:
        async with stand_in_client(stub_auth, 1, COOLDOWN, 0.5) as auth:
            await ask(auth, "opening")
            assert auth.breaker.state is State.OPEN
            await asyncio.sleep(COOLDOWN)
            return await asyncio.gather(*(ask(auth, f"r{n}") for n in range(20)))

    answers = asyncio.run(scenario())
    assert stub_auth.calls == 2  # the call that opened it, and one probe
    assert all(isinstance(answer, AuthUnavailable) for answer in answers)


@pytest.mark.parametrize("behaviour", ["revoked", "forbidden"])
def test_a_401_or_403_is_an_answer_that_grants_nothing_and_never_opens_the_breaker(make_client, stub_auth, behaviour):
    stub_auth.behaviour = behaviour
    client = make_client(stub_auth.url, **{**FAST, **PATIENT})  # about answers, not timeouts: a loaded machine waits
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
    client = make_client(stub_auth.url, **PATIENT)
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


def test_a_cancelled_probe_does_not_leave_the_breaker_half_open(stub_auth):
    stub_auth.behaviour = "hang"

    async def scenario() -> State:
        async with stand_in_client(stub_auth, 1, 0, 5) as auth:
            auth.breaker.failed()
            probe = asyncio.create_task(auth.has_permission(unsigned_token(), "pro_read", "probe"))
            await asyncio.sleep(0.1)
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
            return auth.breaker.state

    assert asyncio.run(scenario()) is State.OPEN


def test_invalid_token_answers_keep_the_auth_service_message(stub_auth):
    stub_auth.behaviour = "revoked"

    async def scenario() -> str:
        async with stand_in_client(stub_auth, 1, 1, 5) as auth:
            try:
                await auth.has_permission(unsigned_token(), "pro_read", "x")
            except InvalidToken as error:
                return error.detail
        return ""

    assert asyncio.run(scenario()) == "Token has been revoked"
