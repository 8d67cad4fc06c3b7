"""The async engine, and the schema: tables, sort indexes and full-text search, created idempotently."""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from movies_async_api.models import Base
from movies_async_api.search import INDEXES
from movies_async_api.settings import Settings


def create_engine(settings: Settings, *, replica: bool = False) -> AsyncEngine:
    """An engine for the configured database (or its read replica), with SQLite tuned for many readers and one
    writer."""
    url = settings.sqlalchemy_replica_url if replica else settings.sqlalchemy_url
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection, _record) -> None:
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


async def create_schema(engine: AsyncEngine) -> None:
    """Create whatever part of the schema is missing; running it again changes nothing."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        for index in INDEXES:
            for statement in index.ddl(engine.dialect.name):
                await connection.execute(text(statement))
