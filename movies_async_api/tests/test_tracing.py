"""Traces, in process: with an OTLP endpoint set, a request makes a server span named by its route, with child
spans for the call to movies_auth, SQL and Redis, every span carrying the request id; with none, no
instrumentation or tracer is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from movies_async_api import tracing
from movies_async_api.request_context import current_request_id
from movies_async_api.request_id_spans import RequestIdSpanProcessor
from movies_support import FILMS, bearer, unsigned_token

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing switched on by the environment, its spans kept in memory instead of exported."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RequestIdSpanProcessor(current_request_id, tracing.REQUEST_ID_ATTRIBUTE))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setattr(tracing, "_provider", provider)
    yield exporter
    for instrumentor in (HTTPXClientInstrumentor(), RedisInstrumentor(), SQLAlchemyInstrumentor()):
        instrumentor.uninstrument()


def test_a_request_is_one_trace_of_a_server_span_and_its_auth_sql_and_redis_spans(make_client, stub_auth, spans):
    client = make_client(stub_auth.url)
    spans.clear()

    response = client.get(
        FILMS, params={"page_size": 2}, headers={**bearer(unsigned_token()), "traceparent": TRACEPARENT}
    )

    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]
    finished = [span for span in spans.get_finished_spans() if span.attributes.get("request.id") == request_id]
    [server] = [span for span in finished if span.kind is SpanKind.SERVER]
    assert server.name == "GET /api/v1/films"
    assert format(server.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert format(server.parent.span_id, "016x") == TRACEPARENT.split("-")[2]
    http_calls = [span for span in finished if span.kind is SpanKind.CLIENT and not _is_store_call(span)]
    [auth_call] = http_calls
    assert auth_call.parent.span_id == server.context.span_id
    systems = {span.attributes.get("db.system") or span.attributes.get("db.system.name") for span in finished}
    sql = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgresql") else "sqlite"
    assert {sql, "redis"} <= systems
    assert {span.context.trace_id for span in finished} == {server.context.trace_id}


def _is_store_call(span) -> bool:
    return "db.system" in span.attributes or "db.system.name" in span.attributes


def test_without_an_endpoint_no_instrumentation_or_tracer_is_installed(tmp_path):
    probe = (
        "import sys\n"
        "from movies_async_api.app import create_app\n"
        "from movies_async_api.settings import Settings\n"
        f"app = create_app(Settings(_env_file=None, instance_path={str(tmp_path)!r}))\n"
        "app.build_middleware_stack()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry.instrumentation'))\n"
        "assert not loaded, loaded\n"
        "from opentelemetry import trace\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
        "print('untraced')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "untraced"
