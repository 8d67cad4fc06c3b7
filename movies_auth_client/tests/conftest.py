"""The real movies_auth, served by gunicorn on real PostgreSQL and Redis (DATABASE_URL/REDIS_URL; embedded
stores without them), with its superuser, a service account and short-lived service tokens."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from client_support import DRIVERS, SERVICE_TOKEN_LIFETIME, AuthServer, flask, serve
from testkit.stores import suite_database, suite_redis


@pytest.fixture(scope="session")
def auth_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment movies_auth runs in: its own database and Redis database, fast argon2, generous limits."""
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    instance = tmp_path_factory.mktemp("auth-instance")
    env = {
        **os.environ,
        "FLASK_APP": "movies_auth",
        "APP_ENV": "development",
        "INSTANCE_PATH": str(instance),
        "ARGON2_TIME_COST": "2",
        "ARGON2_MEMORY_COST": "19456",
        "ARGON2_PARALLELISM": "1",
        "LOGIN_RATE_LIMIT_PER_IP": "10000 per minute",
        "REGISTER_RATE_LIMIT_PER_IP": "10000 per minute",
        "LOGIN_FREE_FAILURES": "10000",
        "LOGIN_FREE_FAILURES_PER_ACCOUNT": "10000",
        "JWT_SERVICE_TOKEN_EXPIRES": str(SERVICE_TOKEN_LIFETIME),
        "GUNICORN_WORKERS": "2",
    }
    env.pop("REDIS_URL", None)
    if database_url:
        env["DATABASE_URL"] = suite_database(database_url, "client_auth")
    else:
        env["DATABASE_URL"] = f"sqlite:///{instance / 'auth.sqlite3'}"
    if redis_url:
        env["REDIS_URL"] = suite_redis(redis_url, 3)
    else:
        env["GUNICORN_WORKERS"] = "1"  # the embedded Redis lives in one process
    return env


@pytest.fixture(scope="session")
def auth(auth_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """movies_auth, migrated and seeded through its CLI, served for the whole session."""
    server = AuthServer(auth_env, tmp_path_factory.mktemp("logs") / "movies_auth.log", flask, serve)
    server.prepare()
    with server.process:
        server.sign_in_root()
        yield server


@pytest.fixture(params=sorted(DRIVERS))
def make_client(request: pytest.FixtureRequest, auth: AuthServer):
    """A started client, sync or async (each test runs with both), closed after the test."""
    opened = []

    def make(base_url: str | None = None, **settings):
        driver = DRIVERS[request.param](base_url or auth.url, **settings)
        driver.start()
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.close()
