"""Logging: one format for every line, each stamped with the request id."""

from __future__ import annotations

import logging.config

from movies_auth.request_context import RequestIdFilter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(level: str) -> None:
    """Send every log line to stderr in one format, with the request id of the request it belongs to."""
    # Every request writes a line: skip finding the caller's frame, which no format here shows (the
    # logging HOWTO's "Optimization"). Process ids stay: gunicorn's own lines print them.
    logging._srcfile = None
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"default": {"format": LOG_FORMAT}},
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
