"""The service's front door: `GET /` names the service and links its API, docs and probes."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter
from pydantic import BaseModel

from movies_async_api.docs import DOCS_URL, OPENAPI_URL

router = APIRouter(tags=["index"])

LINKS = {
    "films": "/api/v1/films",
    "swagger_ui": DOCS_URL,
    "openapi": OPENAPI_URL,
    "health": "/api/healthz",
    "readiness": "/api/readyz",
}


class Index(BaseModel):
    service: str
    version: str
    links: dict[str, str]


@router.get("/", summary="Where the API, its docs and the probes are")
async def index() -> Index:
    """What this service is, and where its API, Swagger UI and probes are."""
    return Index(service="movies_async_api", version=version("movies-async-api"), links=LINKS)
