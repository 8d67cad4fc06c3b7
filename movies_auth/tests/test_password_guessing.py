"""Guessing passwords costs the guesser: a wrong old password counts as a failed login, a flood of hashes
queues in a bounded line instead of taking the threads the token checks need, and a hash made with older
parameters answers as slowly as an unknown email."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from auth_support import API, PASSWORD, login
from movies_auth.domain.passwords import Passwords

MINUTE = timedelta(minutes=1)
VALIDATION = f"{API}/auth_token/validation"


def change_password(client, account, old: str):
    return client.post(
        f"{API}/users/{account.uuid}/password",
        headers=account.headers,
        json={"old_password": old, "new_password": "a brand new passphrase"},
    )


def test_wrong_old_passwords_count_as_failed_logins(client, account, limits):
    limits(login_free_failures=3, login_failure_delay=MINUTE)

    statuses = [change_password(client, account, "guess number one").status_code for _ in range(3)]
    waiting = change_password(client, account, PASSWORD)  # the stolen token's holder waits, right or wrong

    assert statuses == [400, 400, 400]
    assert waiting.status_code == 429
    assert 0 < int(waiting.headers["Retry-After"]) <= 60
    assert login(client, account.email).status_code == 429  # one counter for both ways of guessing
    assert login(client, account.email, **{"environ_base": {"REMOTE_ADDR": "192.0.2.9"}}).status_code == 200


def test_a_right_old_password_gives_its_slot_back(client, account, limits):
    limits(login_free_failures=2, login_failure_delay=MINUTE)

    assert change_password(client, account, "guess number one").status_code == 400
    assert change_password(client, account, PASSWORD).status_code == 204
    assert login(client, account.email, "a brand new passphrase").status_code == 200


@pytest.fixture
def stalled_hashing(app, settings, monkeypatch):
    """One hash computed at a time and one waiting (a worker has two waiting by default); every hash stalls
    until set."""
    bounded = Passwords(settings.model_copy(update={"password_hashing_concurrency": 1, "password_hashing_queue": 1}))
    release = threading.Event()
    hasher = bounded.hasher

    class StalledHasher:
        def __getattr__(self, name):
            return getattr(hasher, name)

        def verify(self, *args):
            release.wait(30)
            return hasher.verify(*args)

    bounded.hasher = StalledHasher()
    monkeypatch.setitem(app.extensions, "passwords", bounded)
    yield release
    release.set()


def test_a_hash_flood_queues_and_the_checks_go_on(app, account, stalled_hashing):
    client = app.test_client()
    with ThreadPoolExecutor(2) as pool:
        hashing = [pool.submit(login, app.test_client(), account.email, "wrong password!") for _ in range(2)]
        time.sleep(0.3)  # both taken in: one hashing, one waiting its turn

        refused = login(client, account.email)
        started = time.perf_counter()
        checked = [client.get(VALIDATION, headers=account.headers).status_code for _ in range(20)]
        checking = time.perf_counter() - started
        stalled_hashing.set()
        queued = [future.result().status_code for future in hashing]

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json == {"msg": "Too many sign-ins at once, try again shortly"}
    assert checked == [200] * 20
    assert checking < 5  # never waiting on the line: the hashes in it stall for 30 s
    assert queued == [401, 401]
    assert login(client, account.email).status_code == 200


def test_an_older_hash_answers_as_slowly_as_an_unknown_email(app, settings, client, account, monkeypatch):
    # The account's hash was made with the suite's parameters; the service now hashes with costlier ones.
    costlier = Passwords(settings.model_copy(update={"argon2_memory_cost": 65536, "argon2_time_cost": 3}))
    monkeypatch.setitem(app.extensions, "passwords", costlier)

    def seconds(email: str) -> float:
        durations = []
        for _ in range(5):
            started = time.perf_counter()
            assert login(client, email, "wrong password!").status_code == 401
            durations.append(time.perf_counter() - started)
        return statistics.median(durations)

    unknown, known = seconds("nobody@example.com"), seconds(account.email)

    assert known > 0.8 * unknown, f"known account {known * 1000:.0f} ms, unknown email {unknown * 1000:.0f} ms"
