"""The `/api/v1` router."""

from fastapi import APIRouter

from movies_async_api.api.routes import films, genres, persons
from movies_async_api.schemas import Problem

# Any route refuses a token that is malformed, forged, expired or revoked; without a token it serves anyone.
api_router = APIRouter(
    responses={401: {"model": Problem, "description": "The access token is invalid, expired or revoked"}}
)
api_router.include_router(films.router)
api_router.include_router(genres.router)
api_router.include_router(persons.router)
