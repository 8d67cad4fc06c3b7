"""Whether the stores the service needs (the database and Redis) answer, and whether Redis keeps what it is told.

Redis holds every revocation. One that evicts keys under memory pressure forgets some of them (a
logged-out token lives again); one without persistence forgets them all when it restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from flask import Flask
from sqlalchemy import text

from movies_auth.extensions import current_settings, db, redis_store

log = logging.getLogger(__name__)

DURABLE = "ok"
NOT_PERSISTENT = "not persistent"
EVICTING = "evicting"
UNKNOWN = "unknown"  # the server refuses CONFIG GET (a managed Redis may)
IN_MEMORY = "in memory"  # the embedded Redis: development only
UNAVAILABLE = "unavailable"
DOCUMENTATION = "docs/hardening.md, Redis"


class RedisNotDurable(RuntimeError):
    """Production refuses to start on a Redis that evicts keys."""


def check_stores() -> dict[str, str]:
    """Probe the database and Redis once: `{"database": "ok" | "unavailable", "redis": ...}`."""
    return {
        "database": _probe(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _probe(redis_store.client.ping),
    }


def check_readiness() -> tuple[bool, dict[str, str]]:
    """Whether the service can serve (both stores answer, Redis evicts nothing), and each check's state."""
    checks = {**check_stores(), "redis_durability": redis_durability()}
    stores_answer = checks["database"] == "ok" and checks["redis"] == "ok"
    return stores_answer and checks["redis_durability"] != EVICTING, checks


def redis_durability() -> str:
    """How Redis keeps revocations: `ok`, `not persistent`, `evicting`, `unknown`, `in memory` or `unavailable`."""
    if not current_settings().redis_url:
        return IN_MEMORY
    client = redis_store.client
    try:
        config = {name: client.config_get(name).get(name) for name in ("maxmemory-policy", "appendonly", "save")}
    except redis.ResponseError:
        return UNKNOWN
    except redis.RedisError:
        return UNAVAILABLE
    if config["maxmemory-policy"] not in (None, "noeviction"):
        return EVICTING
    if config["appendonly"] != "yes" and not config["save"]:
        return NOT_PERSISTENT
    return DURABLE


def require_durable_redis(app: Flask) -> None:
    """At a server's start: refuse (in production) a Redis that evicts keys, and warn of one that forgets on restart."""
    with app.app_context():
        state = redis_durability()
        production = current_settings().app_env == "production"
    if state == EVICTING:
        message = (
            "Redis evicts keys under memory pressure (maxmemory-policy is not noeviction): revocations would be "
            f"forgotten and logged-out tokens live again. Set maxmemory-policy noeviction ({DOCUMENTATION})."
        )
        if production:
            raise RedisNotDurable(message)
        log.warning(message)
    elif state == NOT_PERSISTENT and production:
        log.warning(
            "Redis persists nothing (appendonly no, no save points): a Redis restart forgets every revocation, "
            "and logged-out tokens live again. Turn on appendonly yes (%s).",
            DOCUMENTATION,
        )
    elif state in (UNKNOWN, UNAVAILABLE) and production:
        log.warning("Could not check that Redis persists and never evicts (%s): %s", state, DOCUMENTATION)


def _probe(check: Callable[[], object]) -> str:
    try:
        check()
    except Exception:  # whatever the failure, the store is not usable
        db.session.rollback()
        return "unavailable"
    return "ok"
