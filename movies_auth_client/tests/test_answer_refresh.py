"""The answer cache under steady traffic, against the real movies_auth: an answer about to expire is renewed by
one call in the background while callers are still served it, callers that miss together share one call, and a
revocation is seen no later than without either."""

from __future__ import annotations

import time

import pytest

from client_support import AsyncDriver, RecordingObserver
from movies_auth_client import AuthClient, Call, InvalidToken, Outcome


@pytest.fixture
def async_client(auth):
    """An async client with a 4 s answer cache, renewed in its last 0.8 s (a fifth of its life)."""
    observer = RecordingObserver()
    driver = AsyncDriver(auth.url, **auth.account, answer_ttl=4, refresh_ahead=1, observer=observer)
    driver.start()
    driver.observer = observer
    yield driver
    driver.close()


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def test_an_answer_about_to_expire_is_renewed_by_one_call_while_every_caller_is_served_it(async_client, auth):
    _, token = auth.user(role="subscriber")
    assert async_client.has_permission(token, "pro_read") is True
    first_answered = time.monotonic()
    time.sleep(3.5)  # into the answer's last 0.8 s

    assert async_client.at_once(20, token, "pro_read") == [True] * 20

    calls = async_client.observer
    assert calls.count(Call.PERMISSION_CHECK, Outcome.CACHED) == 20  # nobody waited for movies_auth
    wait_for(lambda: calls.count(Call.PERMISSION_CHECK, Outcome.OK) == 2)
    time.sleep(max(0.0, first_answered + 4.2 - time.monotonic()))  # past the first answer's expiry
    assert async_client.has_permission(token, "pro_read") is True
    assert calls.count(Call.PERMISSION_CHECK, Outcome.OK) == 2  # one renewal, and it is what is served now
    assert calls.count(Call.PERMISSION_CHECK, Outcome.CACHED) == 21


def test_an_answer_young_enough_is_not_renewed(async_client, auth):
    _, token = auth.user(role="subscriber")
    assert async_client.has_permission(token, "pro_read") is True

    assert async_client.at_once(20, token, "pro_read") == [True] * 20
    time.sleep(0.3)

    assert async_client.observer.count(Call.PERMISSION_CHECK, Outcome.OK) == 1


def test_callers_that_miss_together_share_one_call(async_client, auth):
    _, token = auth.user(role="subscriber")
    _, viewer = auth.user()

    assert async_client.at_once(10, token, "pro_read") == [True] * 10
    assert async_client.at_once(10, viewer, "pro_read") == [False] * 10

    calls = async_client.observer
    assert calls.count(Call.PERMISSION_CHECK, Outcome.OK) == 2
    assert calls.count(Call.PERMISSION_CHECK, Outcome.SHARED) == 18


def test_callers_that_share_a_refused_token_are_each_refused(async_client, auth):
    _, token = auth.user(role="subscriber")
    assert auth.call("DELETE", "/auth_token", token=token).status_code == 204

    for _ in range(5):
        with pytest.raises(InvalidToken, match="Token has been revoked"):
            async_client.at_once(5, token, "pro_read")
    assert async_client.observer.count(Call.PERMISSION_CHECK, Outcome.INVALID_TOKEN) == 1


def test_the_sync_client_refuses_refresh_ahead_it_cannot_do(auth):
    with pytest.raises(TypeError, match="does not refresh answers ahead"):
        AuthClient(auth.url, **auth.account, refresh_ahead=1)


def test_a_revocation_is_seen_within_the_answer_ttl_while_answers_are_renewed(auth):
    ttl = 3.0
    client = AsyncDriver(auth.url, **auth.account, answer_ttl=ttl, refresh_ahead=1)
    client.start()
    try:
        _revocation_is_seen_within(ttl, client, auth)
    finally:
        client.close()


def _revocation_is_seen_within(ttl: float, client: AsyncDriver, auth) -> None:
    _, token = auth.user(role="subscriber")
    started = time.monotonic()
    while time.monotonic() < started + 2.7:  # a renewal is made in the last 0.6 s, just before the revocation
        assert client.has_permission(token, "pro_read") is True
        client.wait(0.05)

    assert auth.call("DELETE", "/auth_token", token=token).status_code == 204
    revoked = time.monotonic()
    answers: list[tuple[float, bool | str]] = []
    while time.monotonic() < revoked + ttl + 1:
        asked = time.monotonic()
        try:
            answers.append((asked - revoked, client.has_permission(token, "pro_read")))
        except InvalidToken as refusal:
            answers.append((asked - revoked, refusal.detail))
        client.wait(0.05)

    # A call answered just before the revocation may be kept for a whole TTL from its answer; a little slack.
    late = [answer for after, answer in answers if after >= ttl + 0.3]
    assert late and set(late) == {"Token has been revoked"}, answers
