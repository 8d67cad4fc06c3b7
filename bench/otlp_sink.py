"""A local OTLP/HTTP trace receiver for `make bench`: takes every export, counts its bytes, keeps nothing.

The traced rows export to it, so their cost includes serializing and sending spans, as in production.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OtlpSink(ThreadingHTTPServer):
    """Answers every POST to /v1/traces with 200 and counts the exports and bytes received."""

    daemon_threads = True

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The endpoint to put in OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self, size: int) -> None:
        """Count one export of `size` bytes."""
        with self._lock:
            self.exports += 1
            self.bytes += size


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        self.rfile.read(size)
        self.server.received(size)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass
