"""movies_auth in production checks that Redis keeps what it is told: it refuses to start on a Redis that evicts
keys, warns about one that persists nothing, and its readiness says so while it runs (a Redis of the test's own,
reconfigured with CONFIG SET between cases)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from deployment import REPO, require, world_readable_directory
from testkit.ports import free_port
from testkit.processes import Process
from testkit.redis_servers import RedisServer
from testkit.stores import fresh_database

DURABLE = {"maxmemory-policy": "noeviction", "appendonly": "yes", "save": ""}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    require("redis-server")
    server = RedisServer(world_readable_directory() / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def configure(redis_server: RedisServer) -> Iterator:
    """`configure(**{"maxmemory-policy": "allkeys-lru"})`: the test's Redis set so, durable again afterwards."""
    client = redis.Redis(port=redis_server.port)

    def apply(**settings: str) -> None:
        for name, value in (DURABLE | settings).items():
            client.config_set(name, value)

    yield apply
    apply()


@pytest.fixture(scope="module")
def production_env(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        if os.environ.get("CI"):
            pytest.fail("CI must run this on real PostgreSQL")
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    work = tmp_path_factory.mktemp("durability")
    base = urlsplit(database_url).path.strip("/")
    return os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "APP_ENV": "production",
        "DATABASE_URL": fresh_database(database_url, f"{base}_durability"),
        "REDIS_URL": redis_server.url,
        "INSTANCE_PATH": str(work / "instance"),
        "JWT_KEYS_DIR": str(work / "keys"),
        "GUNICORN_WORKERS": "1",
    }


def gunicorn(env: dict[str, str], port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "movies_auth.wsgi:app", "--bind",
            f"127.0.0.1:{port}"]  # fmt: skip


def test_production_refuses_to_start_on_a_redis_that_evicts_keys(production_env, configure):
    configure(**{"maxmemory-policy": "allkeys-lru"})

    started = subprocess.run(gunicorn(production_env, free_port()), cwd=REPO / "movies_auth", env=production_env,
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    assert started.returncode != 0
    assert "maxmemory-policy" in started.stderr and "noeviction" in started.stderr


@pytest.mark.parametrize(
    ("settings", "warned"),
    [({}, False), ({"appendonly": "no"}, True), ({"appendonly": "no", "save": "3600 1"}, False)],
    ids=["append-only file", "no persistence", "snapshots"],
)
def test_production_warns_when_redis_persists_nothing(production_env, configure, tmp_path, settings, warned):
    configure(**settings)
    port = free_port()

    with Process("movies_auth", gunicorn(production_env, port), REPO / "movies_auth", production_env,
                 tmp_path / "auth.log", f"http://127.0.0.1:{port}/auth/healthz") as auth:  # fmt: skip
        readiness = httpx.get(f"http://127.0.0.1:{port}/auth/readyz", timeout=10)

    assert ("Redis persists nothing" in auth.output()) is warned
    assert readiness.status_code == 200
    assert readiness.json()["checks"]["redis_durability"] == ("not persistent" if warned else "ok")


def test_readiness_fails_while_redis_evicts_keys(production_env, configure, tmp_path):
    port = free_port()
    ready = f"http://127.0.0.1:{port}/auth/readyz"
    with Process("movies_auth", gunicorn(production_env, port), REPO / "movies_auth", production_env,
                 tmp_path / "auth.log", f"http://127.0.0.1:{port}/auth/healthz"):  # fmt: skip
        configure(**{"maxmemory-policy": "volatile-lru"})  # our keys all have a TTL: this evicts them too
        evicting = httpx.get(ready, timeout=10)
        configure()
        durable = httpx.get(ready, timeout=10)

    assert evicting.status_code == 503
    assert evicting.json()["checks"]["redis_durability"] == "evicting"
    assert durable.status_code == 200
