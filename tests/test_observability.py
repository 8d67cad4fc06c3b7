"""Observability of the deployed platform (gunicorn, two workers each, behind nginx): one trace per request
across both services, exported over OTLP to a receiver this test runs; JSON logs carrying the request, trace
and span ids; metrics summed over the workers, also over a worker's death; and a dashboard that queries only
series the services expose.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import runpy
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client.parser import text_string_to_metric_families

from deployment import REPO, Platform, running_platform
from testkit.http import StandInHandler

API = "/auth/api/v1"
PASSWORD = "correct horse battery"
CLIENT_TRACE_ID, CLIENT_SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
SERVER, CLIENT = 2, 3  # OTLP's SpanKind
DASHBOARDS = REPO / "observability" / "grafana" / "dashboards"
PROMETHEUS_CONFIG = REPO / "observability" / "prometheus" / "prometheus.yml"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict


class OtlpReceiver(ThreadingHTTPServer):
    """A minimal OTLP/HTTP trace receiver: decodes each export (protobuf) and keeps its spans."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ExportHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def wait_for(self, trace_id: str, until, timeout: float = 20) -> list[ReceivedSpan]:
        """The spans of `trace_id` once `until(spans)` holds (the services export in batches)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.trace(trace_id)
            if until(spans):
                return spans
            time.sleep(0.2)
        return self.trace(trace_id)


class _ExportHandler(StandInHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        export = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in export.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(resource["service.name"], span.trace_id.hex(), span.span_id.hex(),
                                                 span.parent_span_id.hex(), span.name, span.kind,
                                                 _attributes(span.attributes)))  # fmt: skip
        with self.server.lock:
            self.server.spans.extend(received)
        self.reply(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")


def _attributes(pairs) -> dict:
    return {pair.key: getattr(pair.value, pair.value.WhichOneof("value")) for pair in pairs}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def traced(tmp_path_factory, receiver: OtlpReceiver) -> Iterator[Platform]:
    """The platform with tracing on (every trace kept, exported within a fraction of a second) and JSON logs."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "LOG_FORMAT": "json",
        # A loaded machine may take seconds to hash the service's secret: the movies API waits for its token.
        "AUTH_READ_TIMEOUT": "10",
    }
    with running_platform(tmp_path_factory.mktemp("traced"), "obs", redis_offsets=(2, 3), env=env) as platform:
        yield platform


@pytest.fixture(scope="module")
def web(traced: Platform) -> Iterator[httpx.Client]:
    with traced.client() as client:
        yield client


def new_token(web: httpx.Client) -> str:
    email = f"observer-{uuid.uuid4().hex[:12]}@example.com"
    assert web.post(f"{API}/users", json={"email": email, "password": PASSWORD}).status_code == 201
    login = web.post(f"{API}/auth_token", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


@pytest.fixture(scope="module")
def token(web: httpx.Client) -> str:
    """A fresh user's token, once the movies API holds its own service token (each worker fetches one at start)."""
    warm_up = {"Authorization": f"Bearer {new_token(web)}"}
    deadline = time.monotonic() + 60
    while "X-Auth-Degraded" in web.get("/api/v1/films", params={"page_size": 1}, headers=warm_up).headers:
        assert time.monotonic() < deadline, "the movies API got no service token from movies_auth"
        time.sleep(0.5)
    return new_token(web)  # no answer about it is cached yet


@pytest.fixture(scope="module")
def films_request(web: httpx.Client, token: str) -> httpx.Response:
    """One request through nginx that the movies API answers after asking movies_auth, in the client's trace."""
    headers = {
        "Authorization": f"Bearer {token}",
        "traceparent": f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01",
        "X-Request-Id": "observed-request-1",
    }
    response = web.get("/api/v1/films", params={"page_size": 3}, headers=headers)
    assert response.status_code == 200, response.text
    assert "X-Auth-Degraded" not in response.headers
    return response


def service_url(process) -> str:
    return process.ready_url.rsplit("/", 2)[0]  # ".../auth/healthz" -> the server's root


def test_one_request_is_one_trace_from_nginx_through_the_movies_api_to_movies_auth(receiver, films_request):
    def complete(spans: list[ReceivedSpan]) -> bool:
        return any(span.service == "movies-auth" and span.kind == SERVER for span in spans) and any(
            span.service == "movies-api" and span.kind == SERVER for span in spans
        )

    spans = receiver.wait_for(CLIENT_TRACE_ID, complete)
    by_id = {span.span_id: span for span in spans}

    [api_server] = [span for span in spans if span.service == "movies-api" and span.kind == SERVER]
    assert api_server.name == "GET /api/v1/films"
    assert api_server.parent_id == CLIENT_SPAN_ID  # the client's span, passed on by nginx
    [auth_server] = [span for span in spans if span.service == "movies-auth" and span.kind == SERVER]
    assert auth_server.name == "GET /auth/api/v1/users/<user_id>/combined_permissions/validation"
    auth_call = by_id[auth_server.parent_id]  # the movies API's outgoing call is movies_auth's parent
    assert (auth_call.service, auth_call.kind) == ("movies-api", CLIENT)
    assert auth_call.parent_id == api_server.span_id

    # Every other span hangs, by its parent, off the server span of its own service.
    for span in spans:
        if span.kind == SERVER:
            continue
        ancestor = span
        while ancestor.kind != SERVER:
            ancestor = by_id[ancestor.parent_id]
        assert ancestor.service == span.service, span
    stores = {(span.service, span.attributes.get("db.system")) for span in spans}
    assert {("movies-api", "postgresql"), ("movies-api", "redis"), ("movies-auth", "redis")} <= stores
    assert all(span.attributes.get("request.id") == "observed-request-1" for span in spans)


def test_every_log_line_of_the_servers_is_one_json_object_with_the_ids(traced, receiver, films_request):
    spans = receiver.trace(CLIENT_TRACE_ID)
    servers = {span.service: span for span in spans if span.kind == SERVER}
    for process, service, logger in ((traced.movies, "movies-api", "movies_async_api.access"),
                                     (traced.auth, "movies-auth", "movies_auth.access")):  # fmt: skip
        lines = process.output().splitlines()
        # Before gunicorn starts, the entrypoint's commands (migrations, setup) print as they do.
        start = next(index for index, line in enumerate(lines) if '"message": "Starting gunicorn' in line)
        entries = [json.loads(line) for line in lines[start:] if line.strip()]
        for entry in entries:
            assert set(entry) >= {"time", "level", "logger", "message", "request_id", "trace_id", "span_id"}, entry
        [access] = [e for e in entries if e["logger"] == logger and e["request_id"] == "observed-request-1"]
        assert access["trace_id"] == CLIENT_TRACE_ID
        assert access["span_id"] == servers[service].span_id


def test_metrics_sum_both_workers_and_survive_a_worker_s_death(traced):
    base = service_url(traced.auth)
    before = samples(f"{base}/auth/metrics")
    for _ in range(40):  # a new connection each: gunicorn's two workers share them
        assert httpx.get(f"{base}/auth/healthz", timeout=30).status_code == 200
    counted = samples(f"{base}/auth/metrics")
    route = {"method": "GET", "route": "/auth/healthz"}
    assert moved(before, counted, "http_requests_total", **route, status="200") == 40
    assert moved(before, counted, "http_request_duration_seconds_count", **route) == 40

    for worker in workers(traced.auth):  # every worker that counted dies; gunicorn starts new ones
        os.kill(worker, signal.SIGKILL)
        wait_for_workers(traced.auth, without=worker)
    after = samples(f"{base}/auth/metrics")
    assert moved(before, after, "http_requests_total", **route, status="200") == 40


def test_the_movies_api_counts_its_request_its_auth_call_and_its_cache(traced, films_request):
    exposed = samples(f"{service_url(traced.movies)}/api/metrics")
    assert value(exposed, "http_requests_total", method="GET", route="/api/v1/films", status="200") >= 1
    assert value(exposed, "movies_api_auth_calls_total", operation="permission_check", outcome="ok") >= 1
    assert value(exposed, "movies_api_response_cache_lookups_total", result="miss") >= 1
    assert value(exposed, "movies_api_auth_breaker_state") == 0
    checked = samples(f"{service_url(traced.auth)}/auth/metrics")
    verdicts = sum(value(checked, "movies_auth_permission_checks_total", outcome=o) for o in ("granted", "denied"))
    assert verdicts >= 1
    assert value(checked, "movies_auth_logins_total", outcome="success") >= 1


def test_the_dashboard_queries_only_series_the_services_expose(traced, films_request):
    exposed = set()
    for url in (f"{service_url(traced.auth)}/auth/metrics", f"{service_url(traced.movies)}/api/metrics"):
        exposed |= {name for name, _ in samples(url)}
    jobs = {job["job_name"] for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
        queries += [variable["definition"] for variable in dashboard["templating"]["list"]]
        queried = set()
        for query in queries:
            queried |= set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", query))
            queried |= set(re.findall(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", query))
            queried |= set(re.findall(r"\(\s*([a-z_]+_(?:total|seconds_bucket|state))\s*\)", query))
            for job in re.findall(r'job\s*=~?\s*"([^"$]+)"', query):
                assert job in jobs, (path.name, job)
        assert queried, path.name
        assert queried <= exposed, (path.name, queried - exposed)
        assert {"request", "error", "p50", "p99", "login", "check", "breaker", "cache"} <= words_of(dashboard)


def words_of(dashboard: dict) -> set[str]:
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    return {word for word in ("request", "error", "p50", "p99", "login", "check", "breaker", "cache") if word in titles}


def samples(url: str) -> dict[tuple[str, frozenset], float]:
    response = httpx.get(url, timeout=30)  # a worker gunicorn just started may still be importing
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def workers(process) -> list[int]:
    """The pids of the gunicorn master's workers (the entrypoint exec'd the master: it has the process's pid)."""
    master = process.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def wait_for_workers(process, *, without: int, count: int = 2, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = workers(process)
        if len(current) == count and without not in current:
            try:
                if httpx.get(f"{service_url(process)}/auth/readyz", timeout=30).status_code == 200:  # not counted here
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not replace worker {without}")


@pytest.mark.parametrize("service", ["movies_auth", "movies_async_api"])
def test_each_start_empties_the_metrics_directory_it_is_given_of_old_samples_only(tmp_path, monkeypatch, service):
    (tmp_path / "counter_4242.db").write_bytes(b"stale samples of a previous start")
    (tmp_path / "notes.txt").write_text("not prometheus_client's")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    runpy.run_path(str(REPO / service / "gunicorn.conf.py"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("service", ["movies_auth", "movies_async_api"])
def test_without_a_metrics_directory_each_start_makes_its_own_and_removes_it(monkeypatch, service):
    # Set, then deleted: monkeypatch then removes what the config sets, so later servers do not inherit it.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    config = runpy.run_path(str(REPO / service / "gunicorn.conf.py"))
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir() and not any(made.iterdir())
    config["on_exit"](None)
    assert not made.exists()
