"""A source-neutral film record, and the stable ids every source derives from its own keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from movies_async_api.models import Role

# Fixed forever: changing it would give every film, genre and person a new id.
NAMESPACE = uuid.UUID("6f1c6b9e-4f2a-5d8e-9b43-7a1e2c0d5b71")


@dataclass(frozen=True)
class FilmRecord:
    """One film as a source describes it; people and genres by name."""

    source_id: str
    title: str
    description: str | None
    imdb_rating: float | None
    genres: tuple[str, ...] = ()
    people: tuple[tuple[str, Role], ...] = field(default=())


def clean_name(name: str) -> str:
    """A display name with its whitespace collapsed."""
    return " ".join(name.split())


def film_id(source_id: str) -> uuid.UUID:
    """The film's id, from the source's own key (an IMDb id such as `tt0076759`)."""
    return uuid.uuid5(NAMESPACE, f"film:{source_id}")


def genre_id(name: str) -> uuid.UUID:
    """A genre's id, from its name, so every source agrees on it."""
    return uuid.uuid5(NAMESPACE, f"genre:{clean_name(name).casefold()}")


def person_id(full_name: str) -> uuid.UUID:
    """A person's id, from the name: the one key that actors, writers and directors share in the sources."""
    return uuid.uuid5(NAMESPACE, f"person:{clean_name(full_name).casefold()}")
