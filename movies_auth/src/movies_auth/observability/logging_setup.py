"""Logging: one format for every line, each stamped with the request id; plain text, or one JSON object a line."""

from __future__ import annotations

import json
import logging.config
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from movies_auth.observability.request_context import RequestIdFilter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, trace_id and span_id."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; ids that do not apply (no request, no trace) are null."""
        context = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id(record),
            "trace_id": format(context.trace_id, "032x") if context.is_valid else None,
            "span_id": format(context.span_id, "016x") if context.is_valid else None,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _request_id(record: logging.LogRecord) -> str | None:
    request_id = getattr(record, "request_id", "-")
    return None if request_id == "-" else request_id


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send every log line to stderr in one format, with the request id of the request it belongs to."""
    # Every request writes a line: skip finding the caller's frame, which no format here shows (the
    # logging HOWTO's "Optimization"). Process ids stay: gunicorn's own lines print them.
    logging._srcfile = None
    formatter = {"()": JsonFormatter} if log_format == "json" else {"format": LOG_FORMAT}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["request_id"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
        }
    )
