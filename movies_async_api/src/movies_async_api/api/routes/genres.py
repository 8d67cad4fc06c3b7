"""`/genres`: the genres of the catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from movies_async_api.api.deps import AnswerDep, GenresDep
from movies_async_api.schemas import Genre, Problem, QueryParams

router = APIRouter(prefix="/genres", tags=["genres"])


@router.get("", response_model=list[Genre], summary="Every genre, by name")
async def list_genres(params: Annotated[QueryParams, Query()], genres: GenresDep, answer: AnswerDep) -> Response:
    """All genres; use a genre's uuid to filter `/films`."""
    return await answer(params, genres.all)


@router.get("/{genre_id:uuid}", response_model=Genre, summary="One genre", responses={404: {"model": Problem}})
async def genre_detail(
    genre_id: uuid.UUID, params: Annotated[QueryParams, Query()], genres: GenresDep, answer: AnswerDep
) -> Response:
    """The genre with this uuid."""

    async def produce() -> Genre:
        if (genre := await genres.get(genre_id)) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Genre not found")
        return genre

    return await answer(params, produce)
