"""`/persons`: actors, writers and directors, with the films the caller may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from movies_async_api.api.deps import AnswerDep, CallerDep, PersonsDep
from movies_async_api.schemas import FilmShort, Person, Problem, QueryParams, SearchParams

router = APIRouter(prefix="/persons", tags=["persons"])

NOT_FOUND = "Person not found"


@router.get("/search", response_model=list[Person], summary="Search persons by name")
async def search_persons(
    params: Annotated[SearchParams, Query()], caller: CallerDep, persons: PersonsDep, answer: AnswerDep
) -> Response:
    """Persons whose name matches the query, each with their films and roles."""
    return await answer(params, lambda: persons.search(caller.access, params))


@router.get("/{person_id:uuid}", response_model=Person, summary="One person", responses={404: {"model": Problem}})
async def person_detail(
    person_id: uuid.UUID,
    params: Annotated[QueryParams, Query()],
    caller: CallerDep,
    persons: PersonsDep,
    answer: AnswerDep,
) -> Response:
    """The person, with their films and roles."""

    async def produce() -> Person:
        if (person := await persons.get(caller.access, person_id)) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return person

    return await answer(params, produce)


@router.get(
    "/{person_id:uuid}/film",
    response_model=list[FilmShort],
    summary="A person's films",
    responses={404: {"model": Problem}},
)
async def person_films(
    person_id: uuid.UUID,
    params: Annotated[QueryParams, Query()],
    caller: CallerDep,
    persons: PersonsDep,
    answer: AnswerDep,
) -> Response:
    """The films of the person, best rated first."""

    async def produce() -> list[FilmShort]:
        if (films := await persons.films(caller.access, person_id)) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return films

    return await answer(params, produce)
