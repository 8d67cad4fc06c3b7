"""Fixtures: the movies API on real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set, else embedded,
always in front of a real movies_auth served by gunicorn, and the Practicum catalogue loaded by the CLI.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from movies_async_api import create_app
from movies_async_api.settings import Settings
from movies_support import (
    PRACTICUM_DUMP,
    SERVICE_TOKEN_LIFETIME,
    STUB_SERVICE_SECRET,
    AuthService,
    StubAuth,
    movies_api,
    running_auth_service,
)
from testkit.stores import suite_database, suite_redis

GENEROUS_LIMIT = "10000 per minute"


@dataclass(frozen=True)
class Stores:
    """Where each service keeps its data in this run: fresh databases, fresh Redis databases."""

    movies_database: str
    auth_database: str
    movies_redis: str | None
    auth_redis: str | None


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if database_url:
        movies = suite_database(database_url, "movies")
        auth = suite_database(database_url, "movies_auth")
    else:
        folder = tmp_path_factory.mktemp("databases")
        movies, auth = f"sqlite:///{folder / 'movies.sqlite3'}", f"sqlite:///{folder / 'auth.sqlite3'}"
    if not redis_url:
        return Stores(movies, auth, None, None)
    return Stores(movies, auth, suite_redis(redis_url, 1), suite_redis(redis_url, 2))


@pytest.fixture(scope="session")
def auth_service(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthService]:
    env = {
        **os.environ,
        "FLASK_APP": "movies_auth",
        "APP_ENV": "development",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("auth-instance")),
        "DATABASE_URL": stores.auth_database,
        "ARGON2_TIME_COST": "2",
        "ARGON2_MEMORY_COST": "19456",
        "ARGON2_PARALLELISM": "1",
        "LOGIN_RATE_LIMIT_PER_IP": GENEROUS_LIMIT,
        "LOGIN_FREE_FAILURES": "10000",
        "LOGIN_FREE_FAILURES_PER_ACCOUNT": "10000",
        "REGISTER_RATE_LIMIT_PER_IP": GENEROUS_LIMIT,
        "GUNICORN_WORKERS": "2",
        "JWT_SERVICE_TOKEN_EXPIRES": str(SERVICE_TOKEN_LIFETIME),
    }
    env.pop("REDIS_URL", None)
    if stores.auth_redis:
        env["REDIS_URL"] = stores.auth_redis
    else:
        env["GUNICORN_WORKERS"] = "1"  # the embedded Redis lives in one process
    with running_auth_service(env) as service:
        yield service


@pytest.fixture(scope="session")
def practicum_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Practicum movies SQLite file, rebuilt from its dump."""
    path = tmp_path_factory.mktemp("source") / "practicum_movies.sqlite"
    with closing(sqlite3.connect(path)) as source:
        source.executescript(PRACTICUM_DUMP.read_text())
    return path


@pytest.fixture(scope="session")
def catalogue(stores: Stores, practicum_file: Path) -> str:
    """The movies database, with the Practicum file loaded through the CLI."""
    loaded = movies_api(stores.movies_database, "load-sqlite", str(practicum_file))
    assert loaded.returncode == 0, loaded.stderr
    return stores.movies_database


def settings_for(stores: Stores, catalogue: str, auth_url: str, **overrides) -> Settings:
    values = {
        "app_env": "testing",
        "database_url": catalogue,
        "redis_url": stores.movies_redis,
        "auth_service_url": auth_url,
        "auth_answer_ttl": 0,
        "auth_service_secret": STUB_SERVICE_SECRET,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def client(stores: Stores, catalogue: str, auth_service: AuthService) -> Iterator[TestClient]:
    """The movies API in front of the real movies_auth."""
    settings = settings_for(stores, catalogue, auth_service.url, auth_service_secret=auth_service.service_secret)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(autouse=True)
def empty_response_cache(request: pytest.FixtureRequest) -> None:
    if "client" in request.fixturenames:
        test_client: TestClient = request.getfixturevalue("client")
        # Its own keys only: on a Redis Cluster (one database) movies_auth's keys live beside them.
        test_client.portal.call(test_client.app.state.cache.clear)
        test_client.app.state.local_answers.clear()


@pytest.fixture
def stub_auth() -> Iterator[StubAuth]:
    stub = StubAuth()
    yield stub
    stub.close()


@pytest.fixture
def make_client(stores: Stores, catalogue: str):
    """A movies API with its own settings (e.g. in front of a stub auth service), closed after the test."""
    opened: list[TestClient] = []

    def make(auth_url: str, **overrides) -> TestClient:
        test_client = TestClient(create_app(settings_for(stores, catalogue, auth_url, **overrides)))
        opened.append(test_client.__enter__())
        return opened[-1]

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)
