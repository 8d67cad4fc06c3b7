"""Whether the stores the service needs (the database and Redis) answer."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from movies_auth.extensions import db, redis_store


def check_stores() -> dict[str, str]:
    """Probe the database and Redis once: `{"database": "ok" | "unavailable", "redis": ...}`."""
    return {
        "database": _probe(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _probe(redis_store.client.ping),
    }


def _probe(check: Callable[[], object]) -> str:
    try:
        check()
    except Exception:  # whatever the failure, the store is not usable
        db.session.rollback()
        return "unavailable"
    return "ok"
