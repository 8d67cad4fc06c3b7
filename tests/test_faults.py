"""Faults injected for real under movies_auth as deployed (gunicorn, production settings), on a PostgreSQL
cluster and a Redis server of the test's own: stopped, paused, connections killed, the service restarted.

The promise: a check that cannot reach Redis fails closed with a fast JSON 503, never "valid"; a lost database
is a fast 503 for what needs it and nothing else; each recovers without a restart; a restart loses nothing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from deployment import REPO, VENV_BIN, require, world_readable_directory
from testkit.ports import free_port
from testkit.postgres_server import PostgresServer
from testkit.processes import Process
from testkit.redis_servers import RedisServer

API = "/auth/api/v1"
PASSWORD = "fault injection 123"
TOKEN_STORE_DOWN = {"msg": "Token store is unavailable, try again shortly"}
DATABASE_DOWN = {"msg": "Database is unavailable, try again shortly"}
# The bound on any answer while a store fails: two Redis socket timeouts (0.5 s each by default, one for the
# client cache's tracking connection, one for the read), with room to spare.
FAST = 1.5


@dataclass
class Stores:
    postgres: PostgresServer
    redis: RedisServer


@dataclass
class Session:
    """One login: the user and the tokens it gave."""

    uuid: str
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@pytest.fixture(scope="module")
def stores() -> Iterator[Stores]:
    require("redis-server")
    work = world_readable_directory()  # the server runs as user postgres
    postgres, redis_server = PostgresServer(work / "postgres"), RedisServer(work / "redis")
    try:
        postgres.create()
    except FileNotFoundError as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    postgres.start()
    redis_server.start()
    with psycopg.connect(postgres.url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE auth")
    try:
        yield Stores(postgres, redis_server)
    finally:
        redis_server.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def auth(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    work = tmp_path_factory.mktemp("auth")
    port = free_port()
    env = os.environ | {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "APP_ENV": "production",
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(work / "instance"),
        "DATABASE_URL": stores.postgres.url.rsplit("/", 1)[0] + "/auth",
        "REDIS_URL": stores.redis.url,
        "JWT_KEYS_DIR": str(work / "keys"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    env.pop("SERVICE_SECRET_MOVIES_API", None)
    process = Process(
        "movies_auth",
        ["./docker-entrypoint.sh", "gunicorn", "-c", "gunicorn.conf.py", "movies_auth.wsgi:app"],
        REPO / "movies_auth", env, work / "auth.log", f"http://127.0.0.1:{port}/auth/healthz",
    )  # fmt: skip
    with process:
        yield process


@pytest.fixture
def client(auth: Process, stores: Stores) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=auth.ready_url.removesuffix("/auth/healthz"), timeout=10) as client:
        yield client
    # Whatever a test broke is mended for the next one.
    if stores.redis.process.poll() is not None:
        stores.redis.start()
    if not _accepts_connections(stores.postgres):
        stores.postgres.start()


def _accepts_connections(postgres: PostgresServer) -> bool:
    try:
        psycopg.connect(postgres.url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def sign_in(client: httpx.Client) -> Session:
    """A new user, registered and logged in."""
    email = f"{secrets.token_hex(6)}@example.com"
    registered = client.post(f"{API}/users", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    tokens = client.post(f"{API}/auth_token", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return Session(registered.json()["uuid"], tokens.json()["access_token"], tokens.json()["refresh_token"])


def validate(client: httpx.Client, session: Session) -> httpx.Response:
    return client.get(f"{API}/auth_token/validation", headers=session.headers)


def check_permission(client: httpx.Client, session: Session) -> httpx.Response:
    return client.get(f"{API}/users/{session.uuid}/combined_permissions/validation",
                      params={"permissions": "pro_read"}, headers=session.headers)  # fmt: skip


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def eventually(call: Callable[[], httpx.Response], status: int, within: float = 10) -> httpx.Response:
    """Call until the answer has `status` (the service mends itself); fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return response
        time.sleep(0.1)


def test_with_redis_stopped_checks_fail_closed_fast_and_recover_with_every_revocation(client, stores):
    live, revoked = sign_in(client), sign_in(client)
    assert client.delete(f"{API}/auth_token", headers=revoked.headers).status_code == 204
    assert validate(client, live).status_code == 200
    assert check_permission(client, live).json() == {"valid": False}

    stores.redis.stop()
    time.sleep(FAST)  # past the window in which a worker may still trust what Redis last told it
    for call in (lambda: validate(client, live), lambda: validate(client, revoked),
                 lambda: check_permission(client, live)) * 3:  # fmt: skip
        response, seconds = timed(call)
        assert (response.status_code, response.json()) == (503, TOKEN_STORE_DOWN)
        assert seconds < FAST
    login, seconds = timed(lambda: client.post(f"{API}/auth_token", json={"email": "x@example.com", "password": "y"}))
    assert (login.status_code, login.json()) == (503, TOKEN_STORE_DOWN)
    assert seconds < FAST

    stores.redis.start()  # the same data: production's Redis keeps an append-only file
    eventually(lambda: validate(client, live), 200)
    assert check_permission(client, live).status_code == 200
    assert (validate(client, revoked).status_code, validate(client, revoked).json()) == (
        401, {"msg": "Token has been revoked"},
    )  # fmt: skip


def test_a_stalled_redis_fails_closed_within_the_socket_timeout_then_recovers(client, stores):
    session = sign_in(client)
    assert validate(client, session).status_code == 200
    stores.redis.pause(seconds=6)  # longer than the calls below take
    time.sleep(0.7)  # the heartbeat has gone unanswered: cached answers are no longer trusted
    for call in (lambda: validate(client, session), lambda: check_permission(client, session)) * 2:
        response, seconds = timed(call)
        assert (response.status_code, response.json()) == (503, TOKEN_STORE_DOWN)
        assert seconds < FAST
    eventually(lambda: validate(client, session), 200)
    assert check_permission(client, session).status_code == 200


def test_with_postgresql_stopped_what_needs_it_is_a_fast_503_and_validation_goes_on(client, stores):
    session = sign_in(client)
    assert check_permission(client, session).status_code == 200  # warm: the grants are cached
    stores.postgres.stop()

    for call in (
        lambda: client.post(f"{API}/auth_token", json={"email": "x@example.com", "password": PASSWORD}),
        lambda: client.post(f"{API}/users", json={"email": "new@example.com", "password": PASSWORD}),
        lambda: client.get(f"{API}/users/{session.uuid}", headers=session.headers),
    ):
        response, seconds = timed(call)
        assert (response.status_code, response.json()) == (503, DATABASE_DOWN)
        assert seconds < FAST
    ready = client.get("/auth/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    # The hot paths never touch the database.
    assert validate(client, session).status_code == 200
    assert check_permission(client, session).json() == {"valid": False}

    stores.postgres.start()
    eventually(lambda: client.get(f"{API}/users/{session.uuid}", headers=session.headers), 200)
    eventually(lambda: client.get("/auth/readyz"), 200)
    sign_in(client)  # and nothing was written while it was down
    assert client.post(f"{API}/users", json={"email": "new@example.com", "password": PASSWORD}).status_code == 201


def test_connections_killed_under_the_service_are_replaced_without_an_error(client, stores):
    sessions = [sign_in(client) for _ in range(4)]
    for session in sessions:  # every worker holds pooled connections
        assert client.get(f"{API}/users/{session.uuid}/logins", headers=session.headers).status_code == 200
    assert stores.postgres.terminate_connections("auth") >= 1
    answers = [
        client.get(f"{API}/users/{session.uuid}/logins", headers=session.headers).status_code
        for session in sessions * 5
    ]
    assert answers == [200] * len(answers)
    sign_in(client)


def test_a_restart_of_the_service_loses_no_revocation_and_no_session(client, auth):
    kept, logged_out, everywhere = sign_in(client), sign_in(client), sign_in(client)
    assert client.delete(f"{API}/auth_token", headers=logged_out.headers).status_code == 204
    assert client.delete(f"{API}/auth_token/all", headers=everywhere.headers).status_code == 204

    auth.stop()
    auth.start()

    assert validate(client, kept).status_code == 200
    refreshed = client.post(f"{API}/auth_token/token_refresh", headers={"Authorization": f"Bearer {kept.refresh}"})
    assert refreshed.status_code == 200
    for dead in (logged_out, everywhere):
        assert validate(client, dead).json() == {"msg": "Token has been revoked"}
        refresh = client.post(f"{API}/auth_token/token_refresh", headers={"Authorization": f"Bearer {dead.refresh}"})
        assert refresh.status_code == 401
    assert Path(auth.log).read_text().count("Traceback") == 0
