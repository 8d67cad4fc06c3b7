"""Fresh stores for a suite: a PostgreSQL database of its own, an emptied Redis database, real ones under CI."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from movies_auth.stores.redis_connection import RedisDeployment


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
