"""OpenTelemetry traces, exported over OTLP/HTTP, configured only by the standard `OTEL_*` variables.

With no OTLP endpoint set (or `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`) nothing is imported
or installed: no middleware, no patched client, no cost. With one, every request gets a server span, with
child spans for the calls to movies_auth (which carry `traceparent` on), each SQL statement and each Redis
command, and every span carries the request id. The sampler is the SDK's, from `OTEL_TRACES_SAMPLER`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from movies_async_api.request_context import current_request_id, request_id_of

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.types import Scope

DEFAULT_SERVICE_NAME = "movies-api"
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

        from movies_async_api.request_id_spans import RequestIdSpanProcessor

        service_name = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
        _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        _provider.add_span_processor(RequestIdSpanProcessor(current_request_id, REQUEST_ID_ATTRIBUTE))
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_provider)
    return _provider


def instrument_app(app: FastAPI) -> None:
    """A server span per request (named by route template), and spans for outgoing HTTP and Redis (when enabled)."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    provider = tracer_provider()
    for instrumentor in (HTTPXClientInstrumentor(), RedisInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    # No spans for each ASGI receive and send: they would double the spans of every request and say nothing.
    FastAPIInstrumentor.instrument_app(
        app, server_request_hook=_tag_request, tracer_provider=provider, exclude_spans=["receive", "send"]
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement on `engine` (when enabled)."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # The instrumentation declares SQLAlchemy < 2.1 only; its engine events are the same in 2.1, as the tests
    # show (tests/test_tracing.py), so the declaration is not checked.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=tracer_provider(), skip_dep_check=True
    )


def _tag_request(span: Span, scope: Scope) -> None:
    # The server span starts before the request id is in its context variable: the id is decided here.
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id_of(scope))
