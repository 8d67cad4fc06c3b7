"""Prometheus metrics: the scrape endpoint, for the monitoring network only (nginx does not route it)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from movies_async_api import metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape() -> Response:
    """Every series in Prometheus' text format, summed over the server's workers."""
    body, media_type = metrics.exposition()
    return Response(body, media_type=media_type)
