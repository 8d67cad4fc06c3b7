"""The catalogue's reads from a PostgreSQL streaming replica, when `DATABASE_REPLICA_URL` names one.

The catalogue tolerates lag (a film loaded a moment ago may show a moment later). A replica that refuses
a connection sends reads back to the primary, and is left alone for a few seconds, so a dead replica
costs one connect attempt now and then rather than one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)


class CatalogueReader:
    """`connect()` for reads: to the replica, or to the primary when there is none or it is down."""

    def __init__(self, primary: AsyncEngine, replica: AsyncEngine | None = None, retry_after: float = 5.0) -> None:
        self.primary, self.replica = primary, replica
        self._retry_after = retry_after
        self._down_until = 0.0

    @property
    def dialect(self) -> Dialect:
        """The database's dialect (the replica's is the primary's)."""
        return self.primary.dialect

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, closed after the block."""
        if self.replica is not None and time.monotonic() >= self._down_until:
            connection = self.replica.connect()
            try:
                await connection.start()
            except (OperationalError, DBAPIError, OSError) as error:
                logger.warning("Read replica unavailable, reading from the primary: %s", error)
                self._down_until = time.monotonic() + self._retry_after
            else:
                try:
                    yield connection
                finally:
                    await connection.close()
                return
        async with self.primary.connect() as connection:
            yield connection

    async def dispose(self) -> None:
        """Close the replica's pool (the primary's belongs to the app)."""
        if self.replica is not None:
            await self.replica.dispose()
