"""Storing film records: batched upserts that rewrite only what changed, so a second load changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from movies_async_api.catalogue.records import FilmRecord, film_id, genre_id, person_id
from movies_async_api.models import Film, FilmGenre, FilmPerson, Genre, Person

BATCH_SIZE = 500
_FILMS, _GENRES, _PERSONS = Film.__table__, Genre.__table__, Person.__table__
_FILM_GENRES, _FILM_PERSONS = FilmGenre.__table__, FilmPerson.__table__


async def store(
    engine: AsyncEngine, records: Iterable[FilmRecord], on_batch: Callable[[int], None] = lambda _count: None
) -> int:
    """Write the records in batches, one transaction each; returns how many films were new or changed."""
    changed = 0
    iterator = iter(records)
    # itertools.batched arrives in Python 3.12.
    while batch := tuple(itertools.islice(iterator, BATCH_SIZE)):
        async with engine.begin() as connection:
            changed += await _store_batch(connection, batch)
        on_batch(len(batch))
    return changed


async def clear(engine: AsyncEngine) -> int:
    """Delete the whole catalogue (films, genres, persons and their links); returns how many films it held."""
    async with engine.begin() as connection:
        for table in (_FILM_GENRES, _FILM_PERSONS, _GENRES, _PERSONS):
            await connection.execute(delete(table))
        return (await connection.execute(delete(_FILMS))).rowcount


async def is_empty(engine: AsyncEngine) -> bool:
    """Whether the catalogue holds no film."""
    async with engine.connect() as connection:
        return (await connection.scalar(select(_FILMS.c.id).limit(1))) is None


async def _store_batch(connection: AsyncConnection, batch: tuple[FilmRecord, ...]) -> int:
    dialect = connection.dialect.name
    genres = {genre_id(name): name for record in batch for name in record.genres}
    persons = {person_id(name): name for record in batch for name, _ in record.people}
    # The first spelling of a genre or person wins; later sources only link to it.
    await _insert_missing(connection, _GENRES, [{"id": key, "name": name} for key, name in genres.items()])
    await _insert_missing(connection, _PERSONS, [{"id": key, "full_name": name} for key, name in persons.items()])

    films = [
        {"id": film_id(r.source_id), "title": r.title, "description": r.description, "imdb_rating": r.imdb_rating}
        for r in batch
    ]
    statement = _dialect_insert(dialect, _FILMS)
    fields = ("title", "description", "imdb_rating")
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={field: statement.excluded[field] for field in fields},
        where=or_(*(_FILMS.c[field].is_distinct_from(statement.excluded[field]) for field in fields)),
    ).returning(_FILMS.c.id)
    changed = set((await connection.execute(statement, films)).scalars())

    ids = [film["id"] for film in films]
    film_genres = {(film_id(r.source_id), genre_id(name)) for r in batch for name in r.genres}
    film_persons = {(film_id(r.source_id), person_id(name), role) for r in batch for name, role in r.people}
    changed |= await _sync_links(connection, _FILM_GENRES, ("film_id", "genre_id"), ids, film_genres)
    changed |= await _sync_links(connection, _FILM_PERSONS, ("film_id", "person_id", "role"), ids, film_persons)
    return len(changed)


async def _insert_missing(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(_dialect_insert(connection.dialect.name, table).on_conflict_do_nothing(), rows)


async def _sync_links(
    connection: AsyncConnection, table: Table, names: tuple[str, ...], film_ids: list, wanted: set[tuple]
) -> set:
    """Make the films' links exactly `wanted`; returns the ids of films whose links changed."""
    columns = [table.c[name] for name in names]
    existing = set(
        tuple(row) for row in await connection.execute(select(*columns).where(table.c.film_id.in_(film_ids)))
    )
    stale, missing = existing - wanted, wanted - existing
    if stale:
        await connection.execute(delete(table).where(tuple_(*columns).in_(list(stale))))
    if missing:
        await connection.execute(insert(table), [dict(zip(names, link, strict=True)) for link in missing])
    return {link[0] for link in stale | missing}


def _dialect_insert(dialect: str, table: Table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
