"""Genres: the whole list, and one genre."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from movies_async_api.models import Genre
from movies_async_api.read_replica import CatalogueReader
from movies_async_api.schemas import Genre as GenreOut


class GenreService:
    """Genre queries; genres are the same for every access level."""

    def __init__(self, engine: CatalogueReader) -> None:
        self.engine = engine

    async def all(self) -> list[GenreOut]:
        """Every genre, by name."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(Genre.id, Genre.name).order_by(Genre.name))
            return [GenreOut(uuid=row.id, name=row.name) for row in rows]

    async def get(self, genre_id: uuid.UUID) -> GenreOut | None:
        """One genre, or None."""
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(Genre.id, Genre.name).where(Genre.id == genre_id))).one_or_none()
        return GenreOut(uuid=row.id, name=row.name) if row else None
