"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.openapi import responds
from movies_auth.schemas import HealthSchema
from movies_auth.services.readiness import check_stores

bp = Blueprint("health", __name__, url_prefix="/auth")


@bp.get("/healthz")
@responds(200, HealthSchema)
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
@responds(200, HealthSchema, also=[503])
def readyz() -> tuple[dict, int]:
    """Readiness: the database and Redis both answer; 503 naming the one that does not."""
    checks = check_stores()
    ready = all(state == "ok" for state in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
