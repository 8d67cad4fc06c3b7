"""Login and registration rate limits: per client address and per account, counted in Redis."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from redis.cluster import RedisCluster

from auth_support import API, bearer, login, register
from movies_auth import create_app
from movies_auth.domain import login_throttle
from movies_auth.extensions import db, limiter
from movies_auth.models import LoginAttempt
from movies_auth.stores import redis_keys


def failed_logins(app, account) -> int:
    with app.app_context():
        return db.session.query(LoginAttempt).filter_by(success=False).count()


MINUTE = timedelta(minutes=1)


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_failed_logins_make_the_address_wait_with_retry_after(client, account, limits):
    limits(login_free_failures=3, login_failure_delay=MINUTE)

    statuses = [login(client, account.email, "wrong password!").status_code for _ in range(3)]
    waiting = login(client, account.email)  # even the right password waits now

    assert statuses == [401, 401, 401]
    assert waiting.status_code == 429
    assert "Too many requests" in waiting.json["msg"]
    assert 0 < int(waiting.headers["Retry-After"]) <= 60


def test_the_wait_doubles_with_each_further_failure_up_to_the_longest(app, client, account, limits):
    limits(login_free_failures=1, login_failure_delay=timedelta(seconds=10), login_failure_max_delay=MINUTE)
    waits = []
    for _ in range(5):
        login(client, account.email, "wrong password!")
        waits.append(int(login(client, account.email, "wrong password!").headers["Retry-After"]))
        app.extensions["redis"].hset(failures_from(account.email, "127.0.0.1"), "t", 0)  # as if the wait were over

    assert waits == [10, 20, 40, 60, 60]


def test_a_successful_login_starts_the_address_afresh(client, account, limits):
    limits(login_free_failures=2, login_failure_delay=MINUTE)

    for _ in range(4):
        assert login(client, account.email, "wrong password!").status_code == 401
        assert login(client, account.email).status_code == 200


def test_successful_logins_do_not_count_against_the_account(client, account, limits):
    limits(login_free_failures=3, login_free_failures_per_account=3)

    assert all(login(client, account.email, **from_address(f"198.51.100.{i}")).status_code == 200 for i in range(6))


def test_the_account_limit_ignores_the_email_case(client, account, limits):
    limits(login_free_failures=2, login_failure_delay=MINUTE)

    login(client, account.email, "wrong password!")
    login(client, account.email.upper(), "wrong password!")

    assert login(client, account.email).status_code == 429


def test_one_waiting_account_leaves_others_alone(client, account, make_account, limits):
    other = make_account("grace@example.com")
    limits(login_free_failures=2, login_failure_delay=MINUTE)
    for _ in range(2):
        login(client, account.email, "wrong password!")

    assert login(client, other.email).status_code == 200


def test_an_attacker_elsewhere_cannot_keep_the_owner_out(client, account, limits):
    # The owner signed in from 127.0.0.1 (the fixture's login); the attacker has a hundred other addresses.
    limits(login_free_failures=3, login_free_failures_per_account=10, login_failure_delay=MINUTE)
    for i in range(100):
        for _ in range(4):
            login(client, account.email, "wrong password!", **from_address(f"198.51.{i}.1"))

    assert login(client, account.email).status_code == 200
    assert login(client, account.email, "a typo in it").status_code == 401  # the owner's own mistakes count...
    assert login(client, account.email).status_code == 200  # ...per the owner's address only


def test_brute_force_from_many_addresses_still_meets_the_account_limit(client, account, limits):
    limits(login_free_failures=3, login_free_failures_per_account=10, login_failure_delay=MINUTE)

    statuses = [login(client, account.email, "guess!", **from_address(f"198.51.{i}.1")).status_code for i in range(30)]

    assert statuses == [401] * 10 + [429] * 20
    # The right password from yet another new address waits too: only known addresses are exempt.
    assert login(client, account.email, **from_address("192.0.2.1")).status_code == 429


def test_failure_counters_are_bounded_in_redis(app, client, account, limits):
    limits(login_free_failures=3, login_failure_memory=timedelta(hours=2))
    for i in range(20):
        login(client, account.email, "wrong password!", **from_address(f"198.51.100.{i}"))
        login(client, f"nobody{i}@example.com", "wrong password!")
    login(client, account.email)

    store = app.extensions["redis"]
    keys = [key for key in store.scan_iter(f"{redis_keys.PREFIX}:l*")]
    # The account's per address and its own, each unknown email's (one address) and its own, the known addresses.
    assert len(keys) == 20 + 1 + 2 * 20 + 1
    assert all(0 < store.pttl(key) <= timedelta(days=30).total_seconds() * 1000 for key in keys)
    known = redis_keys.login_known_addresses(login_throttle.account_key(account.email))
    for i in range(30):
        login(client, account.email, **from_address(f"192.0.2.{i}"))
    assert store.zcard(known) == login_throttle.KNOWN_ADDRESSES_KEPT


def failures_from(email: str, address: str) -> str:
    return redis_keys.login_failures_from(login_throttle.account_key(email), address)


def test_logins_are_limited_per_client_address_across_accounts(client, account, limits):
    limits(login_rate_limit_per_ip="4 per minute")

    statuses = [login(client, f"user{i}@example.com").status_code for i in range(4)]
    blocked = login(client, account.email)

    assert statuses == [401] * 4
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers


def test_registrations_are_limited_per_client_address(client, limits):
    limits(register_rate_limit_per_ip="2 per minute")

    statuses = [register(client, f"user{i}@example.com").status_code for i in range(3)]

    assert statuses == [201, 201, 429]


def test_token_validation_is_never_rate_limited(client, account, limits):
    limits(login_rate_limit_per_ip="1 per minute", login_free_failures=1, login_failure_delay=MINUTE)

    statuses = {
        client.get(f"{API}/auth_token/validation", headers=bearer(account.access_token)).status_code for _ in range(50)
    }

    assert statuses == {200}


def test_counters_live_in_redis_so_every_worker_shares_them(app, client, account, limits):
    login(client, account.email, "wrong password!")

    counters = [key for key in app.extensions["redis"].scan_iter("*") if redis_keys.RATE_LIMIT_PREFIX in key]
    assert counters, "rate-limit counters must be in the shared Redis, not in one worker's memory"
    assert app.extensions["redis"].hget(failures_from(account.email, "127.0.0.1"), "n") == "1"


@pytest.mark.exclusive  # 100 logins from 20 threads, counted exactly: another worker's load must not time them out
def test_parallel_wrong_passwords_are_counted_exactly_and_the_limit_holds(app, account, limits):
    limits(login_free_failures=10, login_failure_delay=MINUTE)

    def attempt(_: int) -> int:
        return login(app.test_client(), account.email, "wrong password!").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(100)))

    assert statuses.count(401) == 10
    assert statuses.count(429) == 90
    assert failed_logins(app, account) == 10


def test_an_app_going_away_leaves_the_redis_connections_of_requests_in_flight_alone(
    app, settings, account, monkeypatch
):
    # Flask-Limiter keeps one storage per process, on the connection pool of the app built last: `other`'s here.
    other = create_app(settings)
    if isinstance(other.extensions["redis"], RedisCluster):
        pytest.skip("on a Redis Cluster the rate limiter has connections of its own: no pool is shared")
    pool = other.extensions["redis"].connection_pool
    assert limiter.storage.get_connection().connection_pool is pool
    reading, gone = threading.Event(), threading.Event()
    hand_out = pool.get_connection

    def get_connection(*args, **kwargs):
        connection = hand_out(*args, **kwargs)
        if not reading.is_set():  # the request's first counter: its answer is read once `other` has gone
            read = connection.read_response

            def read_response(*args, **kwargs):
                reading.set()
                gone.wait(5)
                return read(*args, **kwargs)

            monkeypatch.setattr(connection, "read_response", read_response)
        return connection

    monkeypatch.setattr(pool, "get_connection", get_connection)
    with ThreadPoolExecutor(max_workers=1) as requests:
        answer = requests.submit(login, app.test_client(), account.email, "wrong password!")
        assert reading.wait(5)
        client = weakref.ref(other.extensions["redis"])
        del other
        gc.collect()
        assert client() is None
        gone.set()

        assert answer.result().status_code == 401


def change_email(client, account, email: str, **kwargs):
    body = {"new_email": email, "password": account.password}
    return client.post(f"{API}/users/{account.uuid}/email", json=body, headers=account.headers, **kwargs)


def test_email_changes_are_limited_per_account(client, account, limits):
    limits(email_change_rate_limit_per_account="2 per hour")

    statuses = [change_email(client, account, email).status_code for email in ("one@example.com", "two@example.com")]
    third = change_email(client, account, "three@example.com")
    names = client.patch(f"{API}/users/{account.uuid}", json={"first_name": "Ada"}, headers=account.headers)

    assert statuses == [202, 202]
    assert third.status_code == 429
    assert 0 < int(third.headers["Retry-After"]) <= 3600
    assert names.status_code == 200  # a change of names mails nobody


def test_email_changes_are_limited_per_client_address_across_accounts(client, make_account, limits):
    accounts = [make_account(f"user{i}@example.com") for i in range(3)]
    limits(email_change_rate_limit_per_ip="2 per hour")

    statuses = [change_email(client, account, f"new{i}@example.org").status_code for i, account in enumerate(accounts)]

    assert statuses == [202, 202, 429]
