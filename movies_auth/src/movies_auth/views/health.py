"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from sqlalchemy import text

from movies_auth.extensions import db, limiter, redis_store
from movies_auth.openapi import responds
from movies_auth.schemas import HealthSchema

bp = Blueprint("health", __name__, url_prefix="/auth")


@bp.get("/healthz")
@limiter.exempt
@responds(200, HealthSchema)
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
@responds(200, HealthSchema, also=[503])
def readyz() -> tuple[dict, int]:
    """Readiness: the database and Redis both answer; 503 naming the one that does not."""
    checks = {
        "database": _probe(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _probe(redis_store.client.ping),
    }
    ready = all(state == "ok" for state in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _probe(check: Callable[[], object]) -> str:
    try:
        check()
    except Exception:
        db.session.rollback()
        return "unavailable"
    return "ok"
