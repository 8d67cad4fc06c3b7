"""The hot path with its caches on: checks skip Redis when warm, yet every worker sees a change at once.

Each `create_app(settings)` below is one more worker: its own client-side cache, its own tracking
connection, its own verified-token cache, sharing only PostgreSQL and Redis with the others.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from auth_support import API, PASSWORD, give, make_role
from movies_auth import create_app
from movies_auth.stores import redis_keys

VALIDATION = f"{API}/auth_token/validation"


@pytest.fixture(autouse=True)
def real_redis(settings):
    if not settings.redis_url:
        pytest.skip("client-side caching needs a real Redis (the embedded one lives in-process already)")


@pytest.fixture
def workers(settings):
    """Three more workers of the service."""
    return [create_app(settings).test_client() for _ in range(3)]


def redis_calls(app, command: str) -> int:
    stats = app.extensions["redis"].info("commandstats")
    return stats.get(f"cmdstat_{command}", {}).get("calls", 0)


def lose_tracking_connections(redis_client) -> None:
    """Drop the workers' tracking connections, as a network fault would; other subscribers' links stay.

    On Redis Sentinel the Sentinels' own links to the primary are subscribers too: killing them all made the
    Sentinels fail over in the middle of the next test on a loaded machine.
    """
    for client in redis_client.client_list(_type="pubsub"):
        if not client["name"].startswith("sentinel-"):
            redis_client.client_kill_filter(_id=client["id"])


def check(client, account, condition) -> dict:
    path = f"{API}/users/{account.uuid}/combined_permissions/validation?permissions={quote(json.dumps(condition))}"
    response = client.get(path, headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json


def refused_within(client, headers: dict, seconds: float) -> float:
    """How long until `client` refuses the token; fails the test past `seconds`."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        response = client.get(VALIDATION, headers=headers)
        if response.status_code == 401:
            assert response.json == {"msg": "Token has been revoked"}
            return elapsed
        assert response.status_code == 200
    pytest.fail(f"still valid after {seconds * 1000:.0f} ms")


@pytest.mark.exclusive  # counts the MGETs of every client of the Redis server, other workers' too
def test_warm_checks_make_no_redis_round_trip(app, client, account):
    give(app, account, role="subscriber")
    for _ in range(2):
        assert client.get(VALIDATION, headers=account.headers).status_code == 200
        assert check(client, account, "pro_read") == {"valid": True}
    before = redis_calls(app, "mget")

    for _ in range(50):
        assert client.get(VALIDATION, headers=account.headers).status_code == 200
        assert check(client, account, {"any": ["pro_read", "beta"]}) == {"valid": True}

    assert redis_calls(app, "mget") == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/auth_token"), ("delete", "/auth_token/all")],
    ids=["logout", "logout everywhere"],
)
def test_a_token_revoked_through_one_worker_is_refused_by_every_other_within_100_ms(
    client, workers, account, method, path
):
    for worker in workers:  # every worker has the token verified and its revocation keys cached
        for _ in range(2):
            assert worker.get(VALIDATION, headers=account.headers).status_code == 200

    assert getattr(client, method)(API + path, headers=account.headers).status_code == 204

    for worker in workers:
        assert refused_within(worker, account.headers, 0.1) < 0.1


def test_a_password_change_through_one_worker_kills_the_other_sessions_on_every_worker(client, workers, make_account):
    kept = make_account("grace@example.com")
    other_session = client.post(f"{API}/auth_token", json={"email": kept.email, "password": PASSWORD}).json
    other = {"Authorization": f"Bearer {other_session['access_token']}"}
    for worker in workers:
        assert worker.get(VALIDATION, headers=other).status_code == 200
        assert worker.get(VALIDATION, headers=kept.headers).status_code == 200

    response = client.post(
        f"{API}/users/{kept.uuid}/password",
        json={"old_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=kept.headers,
    )

    assert response.status_code == 204
    for worker in workers:
        refused_within(worker, other, 0.1)
        assert worker.get(VALIDATION, headers=kept.headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "condition", "valid_after"),
    [
        ("post", "/users/{user}/roles", {"name": "subscriber"}, "pro_read", True),
        ("delete", "/users/{user}/roles/subscriber", None, "pro_read", False),
        ("post", "/roles/subscriber/permissions", {"name": "permissions_admin"}, "permissions_admin", True),
        ("delete", "/roles/reviewer/permissions/early_access", None, "early_access", False),  # not a built-in
    ],
    ids=["role given", "role taken", "role gains a permission", "role loses one"],
)
def test_a_grant_change_is_seen_by_the_next_check_on_every_worker(
    app, client, workers, account, superuser, method, path, body, condition, valid_after
):
    if path.startswith("/roles/reviewer"):
        make_role(app, "reviewer", "early_access")
        give(app, account, role="reviewer")
    elif path.startswith("/roles") or method == "delete":
        give(app, account, role="subscriber")
    for worker in workers:
        for _ in range(2):
            assert check(worker, account, condition) == {"valid": not valid_after}

    response = getattr(client, method)(API + path.format(user=account.uuid), json=body, headers=superuser.headers)

    assert response.status_code in (200, 201, 204), response.json
    for worker in workers:
        assert check(worker, account, condition) == {"valid": valid_after}


def test_a_lost_tracking_connection_never_leaves_a_stale_answer(app, client, workers, account):
    worker = workers[0]
    for _ in range(2):
        assert worker.get(VALIDATION, headers=account.headers).status_code == 200
    lose_tracking_connections(app.extensions["redis"])

    assert client.delete(f"{API}/auth_token", headers=account.headers).status_code == 204

    response = worker.get(VALIDATION, headers=account.headers)
    assert response.status_code == 401
    assert response.json == {"msg": "Token has been revoked"}


@pytest.mark.exclusive  # counts the MGETs of every client of the Redis server, other workers' too
def test_tracking_comes_back_by_itself_after_a_lost_connection(app, workers, account):
    worker = workers[0]
    worker.get(VALIDATION, headers=account.headers)
    lose_tracking_connections(app.extensions["redis"])
    for _ in range(3):  # notices the loss, starts tracking again, fills the cache
        assert worker.get(VALIDATION, headers=account.headers).status_code == 200
    before = redis_calls(app, "mget")

    for _ in range(20):
        assert worker.get(VALIDATION, headers=account.headers).status_code == 200

    assert redis_calls(app, "mget") == before


def test_a_revocation_racing_a_cache_fill_is_seen_by_the_next_check(client, workers, account, monkeypatch):
    worker = workers[0]
    redis_client = worker.application.extensions["redis"]
    read = redis_client.mget

    def read_then_concurrent_logout(*args, **kwargs):
        before_the_logout = read(*args, **kwargs)
        monkeypatch.undo()
        assert client.delete(f"{API}/auth_token", headers=account.headers).status_code == 204
        return before_the_logout

    monkeypatch.setattr(redis_client, "mget", read_then_concurrent_logout)
    assert worker.get(VALIDATION, headers=account.headers).status_code == 200  # answered from what it read

    response = worker.get(VALIDATION, headers=account.headers)  # but what it kept is not trusted afterwards
    assert response.status_code == 401


def test_a_mass_revocation_starts_the_cache_over_instead_of_replaying_it(app, client, workers, account):
    worker = workers[0]
    for _ in range(2):
        assert worker.get(VALIDATION, headers=account.headers).status_code == 200
    pipeline = app.extensions["redis"].pipeline(transaction=False)
    for number in range(20_000):  # twice what a worker replays key by key
        pipeline.set(redis_keys.session(account.uuid, f"mass-{number}"), "0:g::0", ex=60)
    pipeline.execute()
    assert client.delete(f"{API}/auth_token", headers=account.headers).status_code == 204

    response = worker.get(VALIDATION, headers=account.headers)
    assert response.status_code == 401
    assert response.json == {"msg": "Token has been revoked"}
