"""Fixtures: the movies API on real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set, else embedded,
always in front of a real movies_auth served by gunicorn, and the Practicum catalogue loaded by the CLI.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from harness import fresh_database, fresh_redis
from movies_async_api import create_app
from movies_async_api.settings import Settings
from support import PRACTICUM_DUMP, AuthService, StubAuth, running_auth_service

GENEROUS_LIMIT = "10000 per minute"
# Short, so that the tests see the movies API renew its service token on its own, many times over.
SERVICE_TOKEN_LIFETIME = 6
STUB_SERVICE_SECRET = "any-secret-the-stub-auth-service-accepts"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI"):
        database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
        if not database_url.startswith("postgresql") or not redis_url.startswith("redis"):
            pytest.exit("CI must test against real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL", returncode=3)


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
        base = urlsplit(database_url).path.strip("/")
        movies = fresh_database(database_url, f"{base}_movies")
        auth = fresh_database(database_url, f"{base}_movies_auth")
    else:
        folder = tmp_path_factory.mktemp("databases")
        movies, auth = f"sqlite:///{folder / 'movies.sqlite3'}", f"sqlite:///{folder / 'auth.sqlite3'}"
    if not redis_url:
        return Stores(movies, auth, None, None)
    return Stores(movies, auth, fresh_redis(redis_url, 0), fresh_redis(redis_url, 1))


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


def movies_api(database_url: str, *args: str, redis_url: str | None = None) -> subprocess.CompletedProcess:
    """Run the `movies-api` command against a database (and the embedded Redis unless given), as an operator would."""
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [str(Path(sys.executable).with_name("movies-api")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


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
