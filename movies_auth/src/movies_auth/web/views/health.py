"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.stores.readiness import check_readiness
from movies_auth.web.openapi import responds
from movies_auth.web.schemas import HealthSchema

bp = Blueprint("health", __name__, url_prefix="/auth")


@bp.get("/healthz")
@responds(200, HealthSchema)
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
@responds(200, HealthSchema, also=[503])
def readyz() -> tuple[dict, int]:
    """Readiness: the database and Redis both answer, and Redis does not evict keys; 503 naming what fails.

    `redis_durability` also says when Redis would forget every revocation on a restart (`not persistent`).
    """
    ready, checks = check_readiness()
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
