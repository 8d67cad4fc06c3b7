"""Request parameters and response bodies: the single source of validation and of the OpenAPI spec."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from movies_async_api.models import Role
from movies_async_api.search import MAX_QUERY_LENGTH

MAX_PAGE_SIZE = 100
# Deep enough for any real browsing; bounded so an offset can never overflow the database.
MAX_PAGE_NUMBER = 10_000
# The names the Practicum task (and clients written against it) give some query parameters; each is accepted
# in place of ours and documented in the spec beside it.
PRACTICUM_ALIASES = {"page_number": "page[number]", "page_size": "page[size]", "genre": "filter[genre]"}


def _also(name: str) -> AliasChoices:
    """Our parameter name, or its Practicum alias."""
    return AliasChoices(name, PRACTICUM_ALIASES[name])


class FilmSort(enum.StrEnum):
    RATING_DESC = "-imdb_rating"
    RATING_ASC = "imdb_rating"
    TITLE_ASC = "title"
    TITLE_DESC = "-title"


class QueryParams(BaseModel):
    """A route's query parameters; any other is refused (422 naming it) rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(QueryParams):
    page_number: int = Field(
        default=1, ge=1, le=MAX_PAGE_NUMBER, validation_alias=_also("page_number"), description="1 is the first page"
    )
    page_size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE, validation_alias=_also("page_size"))

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page_number - 1) * self.page_size


class FilmListParams(Page):
    sort: FilmSort = Field(default=FilmSort.RATING_DESC, description="A leading `-` sorts descending")
    genre: uuid.UUID | None = Field(
        default=None, validation_alias=_also("genre"), description="Only films of this genre"
    )


SearchText = Annotated[
    str,
    # No control characters: they mean nothing in a search, and PostgreSQL refuses a NUL outright.
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


class SearchParams(Page):
    query: SearchText = Field(description='Words, "a phrase", `or`, and `-excluded` words, as in a web search')


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class FilmShort(_Response):
    uuid: uuid.UUID
    title: str
    imdb_rating: float | None


class Genre(_Response):
    uuid: uuid.UUID
    name: str


class PersonShort(_Response):
    uuid: uuid.UUID
    full_name: str


class FilmDetail(FilmShort):
    description: str | None
    genre: list[Genre]
    actors: list[PersonShort]
    writers: list[PersonShort]
    directors: list[PersonShort]


class PersonFilm(_Response):
    uuid: uuid.UUID
    roles: list[Role]


class Person(PersonShort):
    films: list[PersonFilm]


class Problem(BaseModel):
    detail: str
