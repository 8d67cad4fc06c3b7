"""Persons: search by name, one person with their films and roles, and a person's films."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from movies_async_api import search
from movies_async_api.models import Film, FilmPerson
from movies_async_api.models import Person as PersonRow
from movies_async_api.read_replica import CatalogueReader
from movies_async_api.schemas import FilmShort, Person, PersonFilm, SearchParams
from movies_async_api.visibility import Access, visible_films

_FILM_ORDER = (Film.imdb_rating.desc().nulls_last(), Film.id)


class PersonService:
    """Person queries; a person's films are limited to what the caller's access level sees."""

    def __init__(self, engine: CatalogueReader) -> None:
        self.engine = engine

    async def search(self, access: Access, params: SearchParams) -> list[Person]:
        """One page of the persons whose name matches, best matches first."""
        matches = search.PERSONS.matches(self.engine.dialect.name, params.query)
        if matches is None:
            return []
        query = (
            select(PersonRow.id, PersonRow.full_name)
            .join(matches, matches.c.id == PersonRow.id)
            .order_by(matches.c.relevance.desc(), PersonRow.full_name, PersonRow.id)
            .limit(params.page_size)
            .offset(params.offset)
        )
        async with self.engine.connect() as connection:
            people = (await connection.execute(query)).all()
            films = await self._films_of(connection, access, [person.id for person in people])
        return [Person(uuid=row.id, full_name=row.full_name, films=films[row.id]) for row in people]

    async def get(self, access: Access, person_id: uuid.UUID) -> Person | None:
        """The person with the films they worked on and their roles in each; None when there is no such person."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(PersonRow.id, PersonRow.full_name).where(PersonRow.id == person_id))
            ).one_or_none()
            if row is None:
                return None
            films = await self._films_of(connection, access, [row.id])
        return Person(uuid=row.id, full_name=row.full_name, films=films[row.id])

    async def films(self, access: Access, person_id: uuid.UUID) -> list[FilmShort] | None:
        """The films of a person, best rated first; None when there is no such person."""
        async with self.engine.connect() as connection:
            exists = await connection.scalar(select(PersonRow.id).where(PersonRow.id == person_id))
            if exists is None:
                return None
            rows = await connection.execute(
                select(Film.id, Film.title, Film.imdb_rating)
                .where(Film.id.in_(select(FilmPerson.film_id).where(FilmPerson.person_id == person_id)))
                .where(visible_films(access))
                .order_by(*_FILM_ORDER)
            )
        return [FilmShort(uuid=row.id, title=row.title, imdb_rating=row.imdb_rating) for row in rows]

    @staticmethod
    async def _films_of(
        connection: AsyncConnection, access: Access, person_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[PersonFilm]]:
        if not person_ids:
            return {}
        rows = await connection.execute(
            select(FilmPerson.person_id, FilmPerson.film_id, FilmPerson.role)
            .join(Film, Film.id == FilmPerson.film_id)
            .where(FilmPerson.person_id.in_(person_ids))
            .where(visible_films(access))
            .order_by(FilmPerson.person_id, *_FILM_ORDER, FilmPerson.role)
        )
        roles: dict[uuid.UUID, dict[uuid.UUID, list]] = defaultdict(dict)
        for row in rows:
            roles[row.person_id].setdefault(row.film_id, []).append(row.role)
        return defaultdict(
            list,
            {
                person: [PersonFilm(uuid=film, roles=film_roles) for film, film_roles in films.items()]
                for person, films in roles.items()
            },
        )
