"""The high-availability suite (`make test-ha`): Redis Cluster and Sentinel, a PostgreSQL streaming replica,
all started by the tests on loopback ports 7100-7199, beside the PostgreSQL and Redis of DATABASE_URL/REDIS_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from movies_auth.domain.permissions import seed_defaults
from movies_auth.settings import Settings

from movies_auth import create_app
from testkit.redis_servers import RedisClusterServers, RedisSentinelServers

REPO = Path(__file__).resolve().parents[2]
# Fixed ports, so a failed run's leftovers are easy to find; HA_FIRST_PORT moves the whole block of 32.
FIRST_PORT = int(os.environ.get("HA_FIRST_PORT", "7100"))
CLUSTER_PORT, SENTINEL_PORT, PG_PRIMARY_PORT, PG_REPLICA_PORT = (FIRST_PORT + offset for offset in (0, 10, 30, 31))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """Three primaries with a replica each."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"), CLUSTER_PORT)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelServers]:
    """A primary, a replica and three Sentinels."""
    sentinel = RedisSentinelServers(tmp_path_factory.mktemp("redis-sentinel"), SENTINEL_PORT)
    try:
        sentinel.start()
        yield sentinel
    finally:
        sentinel.stop()


@pytest.fixture(scope="session")
def database_url() -> str:
    """The PostgreSQL server the suites run on (a scratch database per test is made on it)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.fail("make test-ha runs on PostgreSQL: set DATABASE_URL")
    return url


def auth_app(instance: Path, database_url: str, redis_url: str, *, migrate: bool = True, **settings: object) -> Flask:
    """movies_auth on these stores, its schema up to date (unless not `migrate`) and its Redis database emptied."""
    values = {
        "app_env": "testing", "instance_path": instance, "database_url": database_url, "redis_url": redis_url,
        "jwt_secret_key": "test-signing-secret-that-is-long-enough-0123456789", "argon2_time_cost": 2,
        "argon2_memory_cost": 19456, "argon2_parallelism": 1, "login_rate_limit_per_ip": "100000 per minute",
        **settings,
    }  # fmt: skip
    app = create_app(Settings(_env_file=None, **values))
    with app.app_context():
        if migrate:
            upgrade()
            seed_defaults()
        app.extensions["redis"].flushdb()
    return app
