"""HTTP in the tests: one JSON call as a client makes it, and the handler of a stand-in server."""

from __future__ import annotations

from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler

import httpx


def call_json(url: str, method: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
    """One JSON request, as a client makes it: (status, decoded body), whatever the status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.request(method, url, json=body, headers=headers, timeout=10)
    return response.status_code, response.json() if response.content else None


class StandInHandler(BaseHTTPRequestHandler):
    """The request handler of a stand-in server in a test: `reply` sends one whole answer, and nothing is logged."""

    def reply(
        self, status: int, body: bytes, content_type: str = "application/json", headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer with `body` as it is, its type and length in the headers, and any other `headers` (`Location`)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        """Say nothing: a stand-in's requests are what the test checks, not what it prints."""
