"""nginx in front of the platform, as it routes the observability surface: the metrics endpoints never reach a
service from outside, and a well-formed W3C `traceparent` from the client flows on while anything else is dropped.

The services are stood in for by one recording HTTP server, so these tests see exactly what nginx passes on.
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest

from deployment import make_certificate, nginx_variables, render_nginx, require, world_readable_directory
from testkit.http import StandInHandler
from testkit.ports import free_port
from testkit.processes import Process

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Upstream(ThreadingHTTPServer):
    """Answers every request with 200 and remembers its path and headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        super().__init__(("127.0.0.1", 0), _Recorder)


class _Recorder(StandInHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.seen.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
        self.reply(200, b'{"status": "upstream"}')


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[tuple[str, Upstream]]:
    nginx = require("nginx")
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    prefix = world_readable_directory()
    make_certificate(prefix / "certs")
    http_port, https_port = free_port(), free_port()
    address = f"127.0.0.1:{upstream.server_address[1]}"
    rendered = render_nginx(prefix, **nginx_variables("development", prefix / "certs", http_port, https_port,
                                                      address, address))  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    url = f"http://127.0.0.1:{http_port}"
    process = Process("nginx", [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                      prefix, {}, tmp_path_factory.mktemp("nginx") / "nginx.log", f"{url}/nginx/health")  # fmt: skip
    process.start()
    try:
        yield url, upstream
    finally:
        process.stop()
        upstream.shutdown()
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.mark.parametrize(
    "path",
    [
        "/auth/metrics",
        "/api/metrics",
        "/auth/metrics/",
        "/api/metrics/",
        "/api/metrics?format=text",
        "/auth//metrics",
        "/api/./metrics",
        "/api/v1/../metrics",
        "/auth/%6Detrics",
        "/api/metrics%2F",
    ],
)
def test_the_metrics_endpoints_are_not_routed_from_outside(gateway, path):
    url, upstream = gateway
    upstream.seen.clear()
    # Sent byte for byte as written: http.client leaves dot segments and escapes as they are.
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 404
    assert "Not found" in json.loads(response.read()).values()
    connection.close()
    assert upstream.seen == []


def test_the_services_are_still_routed(gateway):
    url, upstream = gateway
    upstream.seen.clear()
    for path in ("/auth/healthz", "/api/healthz", "/api/v1/films"):
        assert httpx.get(url + path).status_code == 200
    assert [path for path, _ in upstream.seen] == ["/auth/healthz", "/api/healthz", "/api/v1/films"]


def test_a_well_formed_traceparent_is_passed_on_with_its_tracestate(gateway):
    url, upstream = gateway
    upstream.seen.clear()
    httpx.get(f"{url}/api/v1/films", headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"})
    [(_, headers)] = upstream.seen
    assert headers["traceparent"] == TRACEPARENT
    assert headers["tracestate"] == "vendor=1"


@pytest.mark.parametrize(
    "traceparent",
    [
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        TRACEPARENT + "\tx",
    ],
)
def test_a_malformed_traceparent_is_dropped_with_its_tracestate(gateway, traceparent):
    url, upstream = gateway
    upstream.seen.clear()
    httpx.get(f"{url}/auth/healthz", headers={"traceparent": traceparent, "tracestate": "vendor=1"})
    [(_, headers)] = upstream.seen
    assert "traceparent" not in headers and "tracestate" not in headers


def test_no_traceparent_is_invented(gateway):
    url, upstream = gateway
    upstream.seen.clear()
    httpx.get(f"{url}/auth/healthz")
    [(_, headers)] = upstream.seen
    assert "traceparent" not in headers
