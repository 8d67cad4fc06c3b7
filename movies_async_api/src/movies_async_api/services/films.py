"""Films: pages sorted and filtered, full-text search ranked by relevance, and one film in full."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, case, func, select

from movies_async_api import search
from movies_async_api.models import Film, FilmGenre, FilmPerson, Genre, Person, Role
from movies_async_api.read_replica import CatalogueReader
from movies_async_api.schemas import FilmDetail, FilmListParams, FilmShort, FilmSort, PersonShort, SearchParams
from movies_async_api.schemas import Genre as GenreOut
from movies_async_api.visibility import Access, visible_films

# Every order ends on the id, so a page boundary is never ambiguous; descending sorts descend all the way.
_ORDERS: dict[FilmSort, tuple[ColumnElement, ...]] = {
    FilmSort.RATING_DESC: (Film.imdb_rating.desc().nulls_last(), Film.id.desc()),
    FilmSort.RATING_ASC: (Film.imdb_rating.asc().nulls_last(), Film.id),
    FilmSort.TITLE_ASC: (func.lower(Film.title), Film.id),
    FilmSort.TITLE_DESC: (func.lower(Film.title).desc(), Film.id.desc()),
}
# An unrated film counts as an average one when its rating lifts its rank.
_RATING = func.coalesce(Film.imdb_rating, 6.0)


def _search_order(matches) -> tuple[ColumnElement, ...]:
    """Films whose title holds the whole query first, best rated first: "empire strikes back" must find the
    film before its deleted scenes. Then the rest by text relevance, lifted by rating as a search engine lifts
    popular pages.
    """
    boosted = case((matches.c.in_first, _RATING), else_=matches.c.relevance * (1 + _RATING / 10))
    return matches.c.in_first.desc(), boosted.desc(), matches.c.relevance.desc(), Film.id


def _short(film_rows) -> list[FilmShort]:
    return [FilmShort(uuid=row.id, title=row.title, imdb_rating=row.imdb_rating) for row in film_rows]


def _films() -> Select:
    return select(Film.id, Film.title, Film.imdb_rating)


class FilmService:
    """Film queries, each limited to what the caller's access level sees."""

    def __init__(self, engine: CatalogueReader) -> None:
        self.engine = engine

    async def page(self, access: Access, params: FilmListParams) -> list[FilmShort]:
        """One page of films in the asked order, optionally of one genre."""
        query = _films().where(visible_films(access))
        if params.genre is not None:
            query = query.join(FilmGenre, FilmGenre.film_id == Film.id).where(FilmGenre.genre_id == params.genre)
        query = query.order_by(*_ORDERS[params.sort]).limit(params.page_size).offset(params.offset)
        async with self.engine.connect() as connection:
            return _short(await connection.execute(query))

    async def search(self, access: Access, params: SearchParams) -> list[FilmShort]:
        """One page of the films matching a web-search query, best matches first."""
        matches = search.FILMS.matches(self.engine.dialect.name, params.query)
        if matches is None:
            return []
        query = (
            _films()
            .join(matches, matches.c.id == Film.id)
            .where(visible_films(access))
            .order_by(*_search_order(matches))
            .limit(params.page_size)
            .offset(params.offset)
        )
        async with self.engine.connect() as connection:
            return _short(await connection.execute(query))

    async def detail(self, film_id: uuid.UUID) -> FilmDetail | None:
        """The film with its genres and people; None when there is no such film."""
        async with self.engine.connect() as connection:
            film = (await connection.execute(select(Film).where(Film.id == film_id))).one_or_none()
            if film is None:
                return None
            genres = await connection.execute(
                select(Genre.id, Genre.name)
                .join(FilmGenre, FilmGenre.genre_id == Genre.id)
                .where(FilmGenre.film_id == film_id)
                .order_by(Genre.name)
            )
            people = await connection.execute(
                select(Person.id, Person.full_name, FilmPerson.role)
                .join(FilmPerson, FilmPerson.person_id == Person.id)
                .where(FilmPerson.film_id == film_id)
                .order_by(Person.full_name, Person.id)
            )
        credits: dict[Role, list[PersonShort]] = {role: [] for role in Role}
        for person in people:
            credits[person.role].append(PersonShort(uuid=person.id, full_name=person.full_name))
        return FilmDetail(
            uuid=film.id,
            title=film.title,
            imdb_rating=film.imdb_rating,
            description=film.description,
            genre=[GenreOut(uuid=genre.id, name=genre.name) for genre in genres],
            actors=credits[Role.ACTOR],
            writers=credits[Role.WRITER],
            directors=credits[Role.DIRECTOR],
        )
