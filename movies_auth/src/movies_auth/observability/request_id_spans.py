"""A span processor that stamps every span with the id of the request it was made for."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor


class RequestIdSpanProcessor(SpanProcessor):
    """Sets `attribute` on each span as it starts, from `current_request_id` ("-" outside a request: left off)."""

    def __init__(self, current_request_id: Callable[[], str], attribute: str) -> None:
        self._current_request_id = current_request_id
        self._attribute = attribute

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Stamp the span, unless it starts outside any request."""
        request_id = self._current_request_id()
        if request_id != "-":
            span.set_attribute(self._attribute, request_id)
