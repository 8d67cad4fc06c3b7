"""A local OTLP/HTTP trace receiver for `make bench`: takes every export, counts its bytes, keeps nothing.

The traced rows export to it, so their cost includes serializing and sending spans, as in production.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

from testkit.http import StandInHandler


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


class _Handler(StandInHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        self.rfile.read(size)
        self.server.received(size)
        self.reply(200, b"", "application/x-protobuf")
