"""`/films`: the catalogue, as much of it as the caller may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from movies_async_api.api.deps import AnswerDep, CallerDep, FilmsDep
from movies_async_api.schemas import FilmDetail, FilmListParams, FilmShort, Problem, QueryParams, SearchParams
from movies_async_api.visibility import PRO_PERMISSION, PUBLIC_RATING_LIMIT, may_see

router = APIRouter(prefix="/films", tags=["films"])


@router.get("", response_model=list[FilmShort], summary="Films, sorted and paged")
async def list_films(
    params: Annotated[FilmListParams, Query()], caller: CallerDep, films: FilmsDep, answer: AnswerDep
) -> Response:
    """Films the caller may see, in the asked order; `[]` past the last page."""
    return await answer(params, lambda: films.page(caller.access, params))


@router.get("/search", response_model=list[FilmShort], summary="Full-text search over titles and descriptions")
async def search_films(
    params: Annotated[SearchParams, Query()], caller: CallerDep, films: FilmsDep, answer: AnswerDep
) -> Response:
    """Films matching the query, best first: a title match weighs more than a description match."""
    return await answer(params, lambda: films.search(caller.access, params))


@router.get(
    "/{film_id:uuid}",
    response_model=FilmDetail,
    summary="One film with its genres and people",
    responses={403: {"model": Problem, "description": "Rated above 7.0, for `pro_read` only"}, 404: {"model": Problem}},
)
async def film_detail(
    film_id: uuid.UUID, params: Annotated[QueryParams, Query()], caller: CallerDep, films: FilmsDep, answer: AnswerDep
) -> Response:
    """The film in full, when the caller may see it."""

    async def produce() -> FilmDetail:
        film = await films.detail(film_id)
        if film is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Film not found")
        if not may_see(caller.access, film.imdb_rating):
            detail = f"Films rated above {PUBLIC_RATING_LIMIT} need the {PRO_PERMISSION} permission"
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        return film

    return await answer(params, produce)
