"""WSGI middleware: one server span per request, sampled before anything else is made for it.

The WSGI instrumentation's own middleware collects a dozen request attributes, wraps `start_response` and
records OpenTelemetry metrics (which this service does not export) for every request, sampled or not: on
the fast check path that was several times the cost of the check. Here the sampler decides first, from the
span's name, kind and parent alone (all that the samplers `OTEL_TRACES_SAMPLER` names look at), and only a
recorded span gets the attributes, from the instrumentation's own functions, so a recorded span is the one
its middleware would have made. An unrecorded span is still made current: its children (SQL, Redis) follow
its decision and log lines carry its trace id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation._semconv import (  # private: named in movies_auth.library_seams
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
    _report_new,
)
from opentelemetry.instrumentation.wsgi import (
    add_response_attributes,
    collect_custom_request_headers_attributes,
    collect_custom_response_headers_attributes,
    collect_request_attributes,
    get_default_span_name,
    wsgi_getter,
)
from opentelemetry.instrumentation.wsgi.version import __version__
from opentelemetry.propagate import extract, get_global_textmap
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.http import (
    OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST,
    OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE,
    get_custom_headers,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from opentelemetry.trace import TracerProvider


class ServerSpans:
    """Serves `wsgi_app` inside a server span per request: named by route and carrying the request id when
    recorded, as cheap as the sampler's decision when not."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        tracer_provider: TracerProvider,
        request_id_of: Callable[[WSGIEnvironment], str],
        request_id_attribute: str,
        route_of: Callable[[WSGIEnvironment], str],
    ) -> None:
        self.wsgi_app = wsgi_app
        # The same instrumentation scope as the WSGI instrumentation's middleware: the spans are its spans.
        self._tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.wsgi", __version__)
        _OpenTelemetrySemanticConventionStability._initialize()  # type: ignore[no-untyped-call]
        self._semconv = _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
            _OpenTelemetryStabilitySignalType.HTTP
        )
        self._request_id_of = request_id_of
        self._request_id_attribute = request_id_attribute
        self._route_of = route_of
        # The environ keys of the headers the propagators read (`traceparent`, `baggage`...): a request with none of
        # them has no parent to extract, as most have none.
        self._carrier_keys = tuple(f"HTTP_{field.upper().replace('-', '_')}" for field in get_global_textmap().fields)
        # Header capture is set at start-up, as the server's environment is: the instrumentation's functions read
        # the variables again for every span and copy every request header before finding none asked for.
        self._captures_request_headers = bool(
            get_custom_headers(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST)
        )
        self._captures_response_headers = bool(
            get_custom_headers(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE)
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request as the current span's; the span ends once the answer has been sent."""
        parent = extract(environ, getter=wsgi_getter) if self._carries_context(environ) else Context()
        span = self._tracer.start_span(get_default_span_name(environ), parent, kind=SpanKind.SERVER)
        if span.is_recording():
            start_response = self._recorded(span, environ, start_response)
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            iterable = self.wsgi_app(environ, start_response)
        except Exception as error:
            _failed(span, error)
            if _report_new(self._semconv) and span.is_recording():
                span.set_attribute(ERROR_TYPE, type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(error)))
            span.end()
            context.detach(token)
            raise
        return _ended_after(iterable, span, token)

    def _carries_context(self, environ: WSGIEnvironment) -> bool:
        return not environ.keys().isdisjoint(self._carrier_keys)

    def _recorded(self, span: Span, environ: WSGIEnvironment, start_response: StartResponse) -> StartResponse:
        """Give a recorded span the request's attributes; the `start_response` that adds the response's."""
        request_attributes = collect_request_attributes(environ, self._semconv)
        # One call: each takes the span's lock and checks every value it is given.
        attributes: dict[str, Any] = {
            **request_attributes,
            # The span starts before the request id is in its context variable: the id is decided here.
            self._request_id_attribute: self._request_id_of(environ),
        }
        if self._captures_request_headers:
            attributes.update(collect_custom_request_headers_attributes(environ))
        span.set_attributes(attributes)

        def start_recorded(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            add_response_attributes(span, status, headers, request_attributes, self._semconv)
            route = self._route_of(environ)
            span.update_name(f"{environ['REQUEST_METHOD']} {route}")
            if self._captures_response_headers:
                span.set_attributes({"http.route": route, **collect_custom_response_headers_attributes(headers)})
            else:
                span.set_attribute("http.route", route)
            return start_response(status, headers, exc_info)

        return start_recorded


def _ended_after(iterable: Iterable[bytes], span: Span, token: object) -> Iterator[bytes]:
    """`iterable`, sent with `span` still current; then closed, and the span ended."""
    try:
        yield from iterable
    except Exception as error:
        _failed(span, error)
        raise
    finally:
        close = getattr(iterable, "close", None)
        if close:
            close()
        span.end()
        context.detach(token)  # type: ignore[arg-type]


def _failed(span: Span, error: Exception) -> None:
    """Mark `span` failed by `error`, as `trace.use_span` does (one context switch fewer than using it)."""
    if span.is_recording():
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
