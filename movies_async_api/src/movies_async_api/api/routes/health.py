"""Health: `healthz` says the process is up, `readyz` that its database and Redis answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from movies_auth_client.contract import readiness_body

from movies_async_api.readiness import check_stores

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """A constant answer, for load balancers."""
    return {"status": "ok"}


@router.get("/readyz", summary="The database and Redis answer", responses={503: {"description": "One does not"}})
async def readyz(request: Request) -> JSONResponse:
    """200 when the database and the response cache's Redis answer, else 503 naming what does not."""
    checks = await check_stores(request.app.state.engine, request.app.state.cache.redis)
    body, status = readiness_body(all(value == "ok" for value in checks.values()), checks)
    return JSONResponse(body, status_code=status)
