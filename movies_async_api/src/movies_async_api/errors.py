"""Error answers: always JSON `{"detail": ...}`, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    lost = not isinstance(error, DBAPIError) or isinstance(error, OperationalError | InterfaceError)
    if not lost and not error.connection_invalidated:
        return await _unexpected(request, error)
    logger.error("database unavailable: %s", error.__class__.__name__)
    return JSONResponse(
        {"detail": "The catalogue is unavailable; try again shortly"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=error)
    return JSONResponse({"detail": "Internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def register_error_handlers(app: FastAPI) -> None:
    """A lost database is 503; anything unforeseen is a JSON 500 (and a logged trace)."""
    for error in (DBAPIError, ConnectionError, TimeoutError):
        app.add_exception_handler(error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
