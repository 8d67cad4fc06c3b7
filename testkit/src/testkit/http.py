"""One JSON call over HTTP, as a client of either service makes it."""

from __future__ import annotations

import httpx


def call_json(url: str, method: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
    """One JSON request, as a client makes it: (status, decoded body), whatever the status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.request(method, url, json=body, headers=headers, timeout=10)
    return response.status_code, response.json() if response.content else None
