"""Fresh stores for a suite: a PostgreSQL database of its own, an emptied Redis database, real ones under CI.

Under pytest-xdist every worker runs suites of its own at the same time as the others: `suite_database` and
`suite_redis` give each worker its own database names and its own block of Redis databases.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from movies_auth.stores.redis_connection import RedisDeployment

from testkit.workers import worker_name, worker_number

# The Redis databases one worker's suites use (offsets 0..3 of REDIS_URL); a Redis server has 16.
REDIS_DATABASES_PER_WORKER = 4
MAX_WORKERS = 16 // REDIS_DATABASES_PER_WORKER


def require_real_stores_under_ci() -> None:
    """Under CI, stop the run unless DATABASE_URL and REDIS_URL name real PostgreSQL and Redis."""
    if os.environ.get("CI"):
        database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
        if not database_url.startswith("postgresql") or not redis_url.startswith("redis"):
            pytest.exit("CI must test against real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL", returncode=3)


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; its URL."""
    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_redis(url: str, offset: int) -> str:
    """The URL of the Redis database `offset` after the one `url` names, emptied (a cluster has one: all of it)."""
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        fresh = url
    elif parts.scheme == "redis+sentinel":  # redis+sentinel://host:port,.../<service>[/<db>]
        service, _, number = parts.path.strip("/").partition("/")
        fresh = urlunsplit(parts._replace(path=f"/{service}/{(int(number or 0) + offset) % 16}"))
    else:
        number = (int(parts.path.strip("/") or 0) + offset) % 16
        fresh = urlunsplit(parts._replace(path=f"/{number}"))
    RedisDeployment(fresh, {}).client().flushdb()
    return fresh


def suite_database(server_url: str, suite: str) -> str:
    """A fresh database for `suite` on the server of `server_url`, named after it, the suite and the worker."""
    base = urlsplit(server_url).path.strip("/")
    worker = worker_name()
    return fresh_database(server_url, f"{base}_{suite}_{worker}" if worker else f"{base}_{suite}")


def suite_redis(url: str, offset: int) -> str:
    """The emptied Redis database `offset` (0..3) of this worker's block after the one `url` names."""
    if not 0 <= offset < REDIS_DATABASES_PER_WORKER:
        raise ValueError(f"a suite's Redis offset is 0..{REDIS_DATABASES_PER_WORKER - 1}, not {offset}")
    if worker_number() >= MAX_WORKERS:
        raise RuntimeError(
            f"at most {MAX_WORKERS} workers (-n): each empties {REDIS_DATABASES_PER_WORKER} of Redis's 16 databases"
        )
    return fresh_redis(url, worker_number() * REDIS_DATABASES_PER_WORKER + offset)
