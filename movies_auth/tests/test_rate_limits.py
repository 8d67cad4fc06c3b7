"""Login and registration rate limits: per client address and per account, counted in Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from movies_auth import redis_keys
from movies_auth.extensions import db
from movies_auth.models import LoginAttempt
from support import API, bearer, login, register


def failed_logins(app, account) -> int:
    with app.app_context():
        return db.session.query(LoginAttempt).filter_by(success=False).count()


def test_failed_logins_lock_the_account_with_retry_after(client, account, limits):
    limits(login_rate_limit_per_account="3 per minute")

    statuses = [login(client, account.email, "wrong password!").status_code for _ in range(3)]
    locked = login(client, account.email)  # even the right password waits now

    assert statuses == [401, 401, 401]
    assert locked.status_code == 429
    assert "Too many requests" in locked.json["msg"]
    assert 0 < int(locked.headers["Retry-After"]) <= 60


def test_successful_logins_do_not_count_against_the_account(client, account, limits):
    limits(login_rate_limit_per_account="3 per minute")

    assert all(login(client, account.email).status_code == 200 for _ in range(6))


def test_the_account_limit_ignores_the_email_case(client, account, limits):
    limits(login_rate_limit_per_account="2 per minute")

    login(client, account.email, "wrong password!")
    login(client, account.email.upper(), "wrong password!")

    assert login(client, account.email).status_code == 429


def test_one_locked_account_leaves_others_alone(client, account, make_account, limits):
    other = make_account("grace@example.com")
    limits(login_rate_limit_per_account="2 per minute")
    for _ in range(2):
        login(client, account.email, "wrong password!")

    assert login(client, other.email).status_code == 200


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
    limits(login_rate_limit_per_ip="1 per minute", login_rate_limit_per_account="1 per minute")

    statuses = {
        client.get(f"{API}/auth_token/validation", headers=bearer(account.access_token)).status_code for _ in range(50)
    }

    assert statuses == {200}


def test_counters_live_in_redis_so_every_worker_shares_them(app, client, account, limits):
    limits(login_rate_limit_per_account="3 per minute")

    login(client, account.email, "wrong password!")

    counters = [key for key in app.extensions["redis"].scan_iter("*") if redis_keys.RATE_LIMIT_PREFIX in key]
    assert counters, "rate-limit counters must be in the shared Redis, not in one worker's memory"


def test_parallel_wrong_passwords_are_counted_exactly_and_the_limit_holds(app, account, limits):
    limits(login_rate_limit_per_account="10 per minute")

    def attempt(_: int) -> int:
        return login(app.test_client(), account.email, "wrong password!").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(100)))

    assert statuses.count(401) == 10
    assert statuses.count(429) == 90
    assert failed_logins(app, account) == 10
