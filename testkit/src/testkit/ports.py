"""Loopback ports for the servers the tests start."""

from __future__ import annotations

import socket

from testkit.workers import worker_count, worker_number


def free_port() -> int:
    """A loopback TCP port nothing listens on right now, and one no other worker of this run is handed."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # A port is free between this probe and the server's bind: another worker's probe could get it meanwhile,
        # unless each worker takes only its share. Linux hands out odd ports first, hence the halving.
        if port // 2 % worker_count() == worker_number():
            return port
