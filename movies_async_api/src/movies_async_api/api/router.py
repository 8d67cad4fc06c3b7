"""The `/api/v1` router."""

from fastapi import APIRouter

from movies_async_api.api.routes import films, genres, persons

api_router = APIRouter()
api_router.include_router(films.router)
api_router.include_router(genres.router)
api_router.include_router(persons.router)
