"""Prometheus metrics: the scrape endpoint, for the monitoring network only (nginx does not route it)."""

from __future__ import annotations

from flask import Blueprint, Response

from movies_auth.observability import metrics

bp = Blueprint("metrics", __name__, url_prefix="/auth")


@bp.get("/metrics")
def scrape() -> Response:
    """Every series in Prometheus' text format, summed over the server's workers."""
    body, media_type = metrics.exposition()
    return Response(body, mimetype=None, content_type=media_type)
