"""OpenTelemetry traces, exported over OTLP/HTTP, configured only by the standard `OTEL_*` variables.

With no OTLP endpoint set (or `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`) nothing is imported
or installed: no middleware, no patched client, no cost. With one, every request gets a server span (the
fast checks' too), with child spans for each SQL statement and Redis command, and every span carries the
request id. The sampler is the SDK's, from `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`; it decides before
anything else is made for a request (`server_spans`), so an unsampled request costs little more than the decision.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from movies_auth.observability.request_context import current_request_id, request_id_of, route_of

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from flask import Flask
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_SERVICE_NAME = "movies-auth"
REQUEST_ID_ATTRIBUTE = "request.id"

_provider: TracerProvider | None = None


def tracing_enabled() -> bool:
    """Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def tracer_provider() -> TracerProvider:
    """This process's tracer provider, made on first use: OTLP export in the background, request ids on spans."""
    global _provider
    if _provider is None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from movies_auth.observability.request_id_spans import RequestIdSpanProcessor

        service_name = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
        _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        _provider.add_span_processor(RequestIdSpanProcessor(current_request_id, REQUEST_ID_ATTRIBUTE))
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_provider)
    return _provider


def instrument(app: Flask, wsgi_app: WSGIApplication) -> WSGIApplication:
    """`wsgi_app` inside a server span per request, with the app's SQL and Redis calls traced (when enabled)."""
    if not tracing_enabled():
        return wsgi_app
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from movies_auth.extensions import db
    from movies_auth.observability.server_spans import ServerSpans

    provider = tracer_provider()
    if not RedisInstrumentor().is_instrumented_by_opentelemetry:
        RedisInstrumentor().instrument(tracer_provider=provider)
    with app.app_context():
        # The instrumentation declares SQLAlchemy < 2.1 only; its engine events are the same in 2.1, as the tests
        # show (tests/test_tracing.py), so the declaration is not checked.
        SQLAlchemyInstrumentor().instrument(engine=db.engine, tracer_provider=provider, skip_dep_check=True)
    return ServerSpans(wsgi_app, provider, request_id_of, REQUEST_ID_ATTRIBUTE, route_of)
