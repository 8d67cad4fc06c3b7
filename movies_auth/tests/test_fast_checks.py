"""The token and permission checks answered ahead of Flask: the same answers as the Flask routes, to every caller.

`flask_only` is one more worker of the service with the fast checks off, sharing the database, Redis and
key ring. Each case is asked of it and, twice, of the app under test: the first time its token is new
there (so Flask verifies it), the second time it is remembered. All three answers must be the same
bytes, and only the passing checks may be answered without reaching Flask.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask import request, request_started

from auth_support import API, Account, bearer, give, login, service_token
from movies_auth import create_app

VALIDATION = f"{API}/auth_token/validation"
SUBJECT = "X-Subject-Token"
TOKEN_STORE_DOWN = {"msg": "Token store is unavailable, try again shortly"}


@dataclass
class Cast:
    owner: Account  # a subscriber: holds pro_read
    stranger: Account
    admin: Account
    superuser: Account
    service: str
    logged_out: Account


def permission_check(user_id: str, condition: object = "pro_read", **extra: str) -> str:
    text = condition if isinstance(condition, str) else json.dumps(condition)
    query = "&".join(f"{name}={quote(value)}" for name, value in {"permissions": text, **extra}.items())
    return f"{API}/users/{user_id}/combined_permissions/validation?{query}"


Request = Callable[[Cast], tuple[str, dict[str, str]]]

# name: (answered without Flask, the request)
CASES: dict[str, tuple[bool, Request]] = {
    # token validation
    "a user's access token": (True, lambda c: (VALIDATION, c.owner.headers)),
    "a service's token": (True, lambda c: (VALIDATION, bearer(c.service))),
    "a service vouching for a user": (
        True,
        lambda c: (VALIDATION, {**bearer(c.service), SUBJECT: c.owner.access_token}),
    ),
    "a service vouching with a refresh token": (
        False,
        lambda c: (VALIDATION, {**bearer(c.service), SUBJECT: c.owner.refresh_token}),
    ),
    "a service vouching with a service token": (
        False,
        lambda c: (VALIDATION, {**bearer(c.service), SUBJECT: c.service}),
    ),
    "a service vouching for a logged-out user": (
        False,
        lambda c: (VALIDATION, {**bearer(c.service), SUBJECT: c.logged_out.access_token}),
    ),
    "a service vouching with garbage": (False, lambda c: (VALIDATION, {**bearer(c.service), SUBJECT: "not.a.token"})),
    "a user sending a subject token": (
        False,
        lambda c: (VALIDATION, {**c.owner.headers, SUBJECT: c.owner.access_token}),
    ),
    "a refresh token": (False, lambda c: (VALIDATION, bearer(c.owner.refresh_token))),
    "a logged-out token": (False, lambda c: (VALIDATION, c.logged_out.headers)),
    "garbage": (False, lambda c: (VALIDATION, bearer("not.a.token"))),
    "no token": (False, lambda c: (VALIDATION, {})),
    "a lower-case scheme": (False, lambda c: (VALIDATION, {"Authorization": f"bearer {c.owner.access_token}"})),
    "two spaces": (False, lambda c: (VALIDATION, {"Authorization": f"Bearer  {c.owner.access_token}"})),
    "a trailing slash": (False, lambda c: (f"{VALIDATION}/", c.owner.headers)),
    # permission validation
    "the owner, holding it": (True, lambda c: (permission_check(c.owner.uuid), c.owner.headers)),
    "the owner, not holding it": (True, lambda c: (permission_check(c.owner.uuid, "beta"), c.owner.headers)),
    "the owner, a nested condition": (
        True,
        lambda c: (permission_check(c.owner.uuid, {"any": ["beta", {"all": ["pro_read"]}]}), c.owner.headers),
    ),
    "the owner, the id in capitals": (True, lambda c: (permission_check(c.owner.uuid.upper()), c.owner.headers)),
    "the owner, an unknown parameter": (True, lambda c: (permission_check(c.owner.uuid, page="2"), c.owner.headers)),
    "a permissions admin": (True, lambda c: (permission_check(c.owner.uuid), c.admin.headers)),
    "a superuser": (True, lambda c: (permission_check(c.stranger.uuid), c.superuser.headers)),
    "a service": (True, lambda c: (permission_check(c.owner.uuid), bearer(c.service))),
    "a service vouching for the user": (
        True,
        lambda c: (permission_check(c.owner.uuid), {**bearer(c.service), SUBJECT: c.owner.access_token}),
    ),
    "a service vouching for another user": (
        False,
        lambda c: (permission_check(c.stranger.uuid), {**bearer(c.service), SUBJECT: c.owner.access_token}),
    ),
    "the owner sending a subject token": (
        False,
        lambda c: (permission_check(c.owner.uuid), {**c.owner.headers, SUBJECT: c.owner.access_token}),
    ),
    "a stranger": (False, lambda c: (permission_check(c.owner.uuid), c.stranger.headers)),
    "a logged-out owner": (False, lambda c: (permission_check(c.logged_out.uuid), c.logged_out.headers)),
    "a refresh token as the owner": (False, lambda c: (permission_check(c.owner.uuid), bearer(c.owner.refresh_token))),
    "no condition": (False, lambda c: (f"{API}/users/{c.owner.uuid}/combined_permissions/validation", c.owner.headers)),
    "a malformed condition": (False, lambda c: (permission_check(c.owner.uuid, '{"any": '), c.owner.headers)),
    "a condition too deep": (False, lambda c: (permission_check(c.owner.uuid, nested(40)), c.owner.headers)),
    "an unknown user, asked by an admin": (False, lambda c: (permission_check(str(uuid.uuid4())), c.admin.headers)),
    "an id that is no uuid, asked by a service": (False, lambda c: (permission_check("42"), bearer(c.service))),
    "an empty id": (False, lambda c: (permission_check(""), c.owner.headers)),
    "an id of two segments": (False, lambda c: (permission_check(f"{c.owner.uuid}/x"), c.owner.headers)),
}


def nested(depth: int) -> dict:
    condition: object = "pro_read"
    for _ in range(depth):
        condition = {"all": [condition]}
    return condition  # type: ignore[return-value]


@pytest.fixture
def cast(app, client, make_account) -> Cast:
    owner = make_account("owner@example.com")
    give(app, owner, role="subscriber")
    admin = make_account("admin@example.com")
    give(app, admin, permission="permissions_admin")
    superuser = make_account("root@example.com")
    give(app, superuser, role="superuser")
    logged_out = make_account("gone@example.com")
    assert client.delete(f"{API}/auth_token", headers=logged_out.headers).status_code == 204
    return Cast(
        owner,
        make_account("stranger@example.com"),
        admin,
        superuser,
        service_token(app, client, "movies-api"),
        logged_out,
    )


@pytest.fixture
def flask_only(settings):
    return create_app(settings.model_copy(update={"fast_checks": False})).test_client()


@pytest.fixture
def reached_flask(app):
    """The paths of the requests that reached Flask's dispatch, as they happen."""
    paths: list[str] = []

    def record(_sender, **_extra) -> None:
        paths.append(request.path)

    request_started.connect(record, app)
    yield paths
    request_started.disconnect(record, app)


def answer(response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((name, value) for name, value in response.headers.items() if name != "X-Request-Id")
    return response.status_code, response.get_data(), headers


@pytest.mark.parametrize("case", CASES)
def test_a_check_is_answered_exactly_as_the_flask_route_answers_it(case, cast, client, flask_only, reached_flask):
    fast, build = CASES[case]
    path, headers = build(cast)

    expected = answer(flask_only.get(path, headers=headers))
    first_sight = answer(client.get(path, headers=headers))
    reached_flask.clear()
    remembered = answer(client.get(path, headers=headers))

    assert first_sight == expected
    assert remembered == expected
    assert (reached_flask == []) == fast, reached_flask


def test_a_logout_is_seen_by_the_next_check(client, cast, reached_flask):
    for _ in range(2):
        assert client.get(VALIDATION, headers=cast.owner.headers).status_code == 200
    reached_flask.clear()
    assert client.get(VALIDATION, headers=cast.owner.headers).json == {"msg": "Token is valid"}
    assert reached_flask == []

    assert client.delete(f"{API}/auth_token", headers=cast.owner.headers).status_code == 204
    refused = client.get(VALIDATION, headers=cast.owner.headers)

    assert (refused.status_code, refused.json) == (401, {"msg": "Token has been revoked"})
    refused = client.get(permission_check(cast.owner.uuid), headers=cast.owner.headers)
    assert (refused.status_code, refused.json) == (401, {"msg": "Token has been revoked"})


def test_a_grant_change_is_seen_by_the_next_check(app, client, cast):
    path = permission_check(cast.stranger.uuid)
    for _ in range(2):
        assert client.get(path, headers=cast.stranger.headers).json == {"valid": False}

    give(app, cast.stranger, permission="pro_read")

    assert client.get(path, headers=cast.stranger.headers).json == {"valid": True}


def test_a_deleted_account_is_no_longer_vouched_for(client, cast):
    path = permission_check(cast.owner.uuid)
    vouching = {**bearer(cast.service), SUBJECT: cast.owner.access_token}
    for _ in range(2):
        assert client.get(path, headers=vouching).json == {"valid": True}

    assert client.delete(f"{API}/users/{cast.owner.uuid}", headers=cast.owner.headers).status_code == 204

    refused = client.get(path, headers=vouching)
    assert refused.status_code == 401
    assert refused.json["msg"] == "Token has been revoked"


def test_a_check_answered_here_is_logged_and_carries_its_request_id(client, cast, caplog, reached_flask):
    caplog.set_level(logging.INFO)
    client.get(VALIDATION, headers=cast.owner.headers)
    reached_flask.clear()

    response = client.get(VALIDATION, headers={**cast.owner.headers, "X-Request-Id": "trace-me"})

    assert reached_flask == []
    assert response.headers["X-Request-Id"] == "trace-me"
    [line] = [r for r in caplog.records if r.name == "movies_auth.access" and r.request_id == "trace-me"]
    method, path, status, duration = line.getMessage().split(" ")
    assert (method, path, status) == ("GET", VALIDATION, "200") and duration.endswith("ms")


def test_only_get_is_answered_here(client, cast, reached_flask):
    client.get(VALIDATION, headers=cast.owner.headers)
    reached_flask.clear()

    head = client.head(VALIDATION, headers=cast.owner.headers)
    post = client.post(VALIDATION, headers=cast.owner.headers)

    assert head.status_code == 200 and head.get_data() == b""
    assert post.status_code == 405
    assert reached_flask == [VALIDATION, VALIDATION]


def test_a_new_login_of_a_known_user_is_checked_in_full_first(client, cast, reached_flask):
    fresh = login(client, cast.owner.email, cast.owner.password).json["access_token"]
    reached_flask.clear()

    assert client.get(VALIDATION, headers=bearer(fresh)).status_code == 200
    assert reached_flask == [VALIDATION]


@pytest.mark.exclusive  # it pauses the whole Redis server
def test_a_check_that_cannot_reach_redis_gets_the_route_s_503_after_one_wait(app, client, cast, reached_flask):
    """A stalled Redis costs a check one socket timeout, answered here, not a second one in Flask."""
    if not app.extensions["settings"].redis_url:
        pytest.skip("stalls a real Redis server")
    paths = (VALIDATION, permission_check(cast.owner.uuid))
    for path in paths * 2:
        assert client.get(path, headers=cast.owner.headers).status_code == 200
    reached_flask.clear()
    pause = 3.0
    app.extensions["redis"].execute_command("CLIENT", "PAUSE", int(pause * 1000), "ALL")
    paused_at = time.monotonic()
    try:
        time.sleep(0.6)  # past the heartbeat: the worker no longer trusts its copy
        for path in paths:
            started = time.monotonic()
            response = client.get(path, headers=cast.owner.headers)
            assert (response.status_code, response.json) == (503, TOKEN_STORE_DOWN)
            timeout = app.extensions["settings"].redis_socket_timeout
            assert time.monotonic() - started < 2 * timeout
        assert reached_flask == []
    finally:
        time.sleep(max(0.0, pause - (time.monotonic() - paused_at)) + 0.1)
