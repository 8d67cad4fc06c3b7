"""Traces, in process: with an OTLP endpoint set, a request makes a server span named by its route with child
spans for SQL and Redis, every span carrying the request id; with none, no instrumentation or tracer is installed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind
from werkzeug.test import Client

from auth_support import PASSWORD, bearer, login, register
from movies_auth import create_app
from movies_auth.observability import server_spans, tracing
from movies_auth.observability.request_context import current_request_id
from movies_auth.observability.request_id_spans import RequestIdSpanProcessor
from movies_auth.settings import Settings

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
    for instrumentor in (RedisInstrumentor(), SQLAlchemyInstrumentor()):
        instrumentor.uninstrument()


# Every answer is read to its end, as a WSGI server reads it: only then does its server span end and leave the
# context, which a later request in the same thread would otherwise take for its parent.
@pytest.fixture
def traced_app(app: Flask, settings: Settings, spans: InMemorySpanExporter) -> Flask:
    """A second app on the suite's stores, built while tracing is on."""
    return create_app(settings.model_copy(update={"fast_checks": True}))


def test_a_request_is_one_trace_of_a_server_span_and_its_sql_and_redis_spans(traced_app, spans):
    client = traced_app.test_client()
    assert register(client, "traced@example.com").json["email"] == "traced@example.com"
    spans.clear()

    response = login(client, "traced@example.com", PASSWORD, headers={"traceparent": TRACEPARENT})

    response.close()  # the server span ends as the server closes the response
    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]
    finished = spans.get_finished_spans()
    [server] = [span for span in finished if span.kind is SpanKind.SERVER]
    assert server.name == "POST /auth/api/v1/auth_token"
    assert server.attributes["http.route"] == "/auth/api/v1/auth_token"
    assert format(server.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert format(server.parent.span_id, "016x") == TRACEPARENT.split("-")[2]
    children = [span for span in finished if span is not server]
    systems = {span.attributes.get("db.system") or span.attributes.get("db.system.name") for span in children}
    sql = "postgresql" if (traced_app.extensions["settings"].database_url or "").startswith("postgresql") else "sqlite"
    assert {sql, "redis"} <= systems
    assert {span.context.trace_id for span in finished} == {server.context.trace_id}
    assert all(span.attributes[tracing.REQUEST_ID_ATTRIBUTE] == request_id for span in finished)


def test_a_check_answered_on_the_fast_path_has_its_server_span_too(traced_app, spans):
    client = traced_app.test_client()
    register(client, "fast@example.com").get_data()
    token = login(client, "fast@example.com").json["access_token"]
    path = "/auth/api/v1/auth_token/validation"
    client.get(path, headers=bearer(token)).get_data()  # Flask's answer; the token is remembered from here on
    spans.clear()

    response = client.get(path, headers={**bearer(token), "X-Request-Id": "fast-1"})

    response.close()
    assert response.status_code == 200
    [server] = [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert server.name == f"GET {path}"
    assert server.attributes[tracing.REQUEST_ID_ATTRIBUTE] == "fast-1"


def test_without_an_endpoint_no_instrumentation_or_tracer_is_installed(settings):
    # A fresh interpreter: this one has imported the SDK for the tests above.
    probe = (
        "import sys\n"
        "from movies_auth import create_app\n"
        "from movies_auth.settings import Settings\n"
        f"app = create_app(Settings(_env_file=None, database_url={settings.database_url!r}, "
        f"redis_url={settings.redis_url!r}, instance_path={str(settings.instance_path)!r}))\n"
        # (redis-py imports parts of the SDK itself, for its own optional metrics.)
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry.instrumentation'))\n"
        "assert not loaded, loaded\n"
        "from opentelemetry import trace\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
        "assert 'OpenTelemetry' not in type(app.wsgi_app).__name__\n"
        "print('untraced')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(settings.instance_path)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "untraced"


def test_a_request_its_parent_did_not_sample_records_no_span_and_is_answered(traced_app, spans):
    client = traced_app.test_client()
    register(client, "unsampled@example.com").get_data()
    spans.clear()
    unsampled = TRACEPARENT[:-2] + "00"

    response = login(client, "unsampled@example.com", PASSWORD, headers={"traceparent": unsampled})

    response.close()
    assert response.status_code == 200
    assert spans.get_finished_spans() == ()  # neither the server span nor its SQL and Redis children


def test_a_request_its_parent_did_not_sample_computes_no_span_attributes(traced_app, spans, monkeypatch):
    client = traced_app.test_client()
    register(client, "no-attributes@example.com").get_data()
    token = login(client, "no-attributes@example.com").json["access_token"]
    collected: list[str] = []

    def counted(collect: Callable[..., dict]) -> Callable[..., dict]:
        def collecting(*args: object) -> dict:
            collected.append(collect.__name__)
            return collect(*args)

        return collecting

    for name in ("collect_request_attributes", "collect_custom_request_headers_attributes"):
        monkeypatch.setattr(server_spans, name, counted(getattr(server_spans, name)))
    spans.clear()
    unsampled = TRACEPARENT[:-2] + "00"

    response = client.get("/auth/api/v1/auth_token/validation", headers={**bearer(token), "traceparent": unsampled})

    response.close()
    assert response.status_code == 200
    assert collected == []
    assert spans.get_finished_spans() == ()


def _served_by_both(traced_app: Flask, spans: InMemorySpanExporter, headers: dict[str, str]) -> tuple[Span, Span]:
    """The server span of one request to the traced app, and of the same request to the WSGI instrumentation's
    middleware around the same stack."""
    path = "/auth/api/v1/auth_token/validation?unused=1"
    served = traced_app.wsgi_app.wsgi_app  # inside the server spans: the request id, metrics, fast checks, Flask
    official = OpenTelemetryMiddleware(served, tracer_provider=tracing.tracer_provider())
    answers = []
    for caller in (Client(traced_app.wsgi_app), Client(official)):
        spans.clear()
        answer = caller.get(path, headers=headers)
        answer.get_data()  # the official middleware ends its span once the body has been iterated
        answer.close()
        assert answer.status_code == 200
        [server] = [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]
        answers.append(server)
    ours, theirs = answers
    named_here = {"http.route", tracing.REQUEST_ID_ATTRIBUTE}
    assert {k: v for k, v in ours.attributes.items() if k not in named_here} == dict(theirs.attributes)
    assert ours.attributes["http.route"] == "/auth/api/v1/auth_token/validation"
    assert ours.name == "GET /auth/api/v1/auth_token/validation"
    assert ours.parent == theirs.parent
    assert ours.status.status_code == theirs.status.status_code
    assert ours.instrumentation_scope.name == theirs.instrumentation_scope.name
    return ours, theirs


def test_a_sampled_server_span_is_the_one_the_wsgi_instrumentation_makes(traced_app, spans):
    client = traced_app.test_client()
    assert register(client, "parity@example.com").json["email"] == "parity@example.com"
    token = login(client, "parity@example.com").json["access_token"]

    ours, _ = _served_by_both(
        traced_app, spans, {**bearer(token), "traceparent": TRACEPARENT, "User-Agent": "parity/1"}
    )

    assert not any(name.startswith("http.request.header.") for name in ours.attributes)


def test_headers_asked_for_at_start_up_are_captured_as_the_wsgi_instrumentation_captures_them(
    app, settings, spans, monkeypatch
):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "X-Client-Build")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE", "Content-Type")
    traced_app = create_app(settings.model_copy(update={"fast_checks": True}))  # reads them as a server starts
    client = traced_app.test_client()
    register(client, "captured@example.com").get_data()
    token = login(client, "captured@example.com").json["access_token"]

    ours, _ = _served_by_both(traced_app, spans, {**bearer(token), "traceparent": TRACEPARENT, "X-Client-Build": "7"})

    assert ours.attributes["http.request.header.x_client_build"] == ("7",)
    assert ours.attributes["http.response.header.content_type"] == ("application/json",)
