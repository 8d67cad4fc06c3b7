"""A plausible made-up catalogue of any size: the same seed always gives the same films."""

from __future__ import annotations

import random
from collections.abc import Iterator

from movies_async_api.catalogue.records import FilmRecord
from movies_async_api.models import Role

GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
    "History", "Horror", "Music", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
_ADJECTIVES = (
    "Silent", "Last", "Hidden", "Broken", "Golden", "Endless", "Crimson", "Distant", "Wild", "Frozen", "Lost",
    "Burning", "Secret", "Midnight", "Electric", "Forgotten", "Restless", "Hollow", "Northern", "Velvet",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Empire", "River", "Signal", "Garden", "Frontier", "Kingdom", "Horizon", "Machine", "Orchard",
    "Station", "Voyage", "Shadow", "Island", "Archive", "Circus", "Lighthouse", "Desert", "Crown", "Storm",
)  # fmt: skip
_PLACES = ("Lisbon", "Saturn", "the North", "Paris", "the Valley", "Kyoto", "the Abyss", "Marrakesh", "Oslo", "Mars")
_PATTERNS = (
    "The {adjective} {noun}", "{noun} of {place}", "{adjective} {noun}", "Return to {place}",
    "The {noun} and the {other}", "{adjective} Night in {place}", "Beyond the {noun}",
)  # fmt: skip
_PLOTS = (
    "A {role} who has lost everything finds a reason to fight for the {noun} in {place}.",
    "When a {adjective} {noun} appears over {place}, a reluctant {role} must choose whom to trust.",
    "Two strangers cross {place} to reach the {adjective} {noun} before the winter ends.",
    "An aging {role} returns to {place} to settle an old debt with the keeper of the {noun}.",
)  # fmt: skip
_ROLES = ("detective", "pilot", "teacher", "thief", "engineer", "musician", "doctor", "smuggler", "astronaut")
_FIRST = (
    "Ada", "Boris", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Leon",
    "Maya", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Stefan", "Tara", "Ugo", "Vera", "Wim", "Yara", "Zoe",
)  # fmt: skip
_LAST = (
    "Abbott", "Berg", "Castillo", "Dumas", "Eriksen", "Fontaine", "Gallo", "Holm", "Ivanova", "Janssen",
    "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Sato", "Torres",
    "Underwood", "Varga", "Weiss", "Yilmaz", "Zielinski",
)  # fmt: skip


def generate(films: int, seed: int) -> Iterator[FilmRecord]:
    """`films` made-up films, their people drawn from a cast pool that grows with the catalogue."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, reproducible on purpose
    pool = _people(rng, max(20, films // 2))
    for number in range(films):
        words = {
            "adjective": rng.choice(_ADJECTIVES),
            "noun": rng.choice(_NOUNS),
            "other": rng.choice(_NOUNS),
            "place": rng.choice(_PLACES),
            "role": rng.choice(_ROLES),
        }
        # Ratings cluster around 6.6 as on IMDb; a few films are not rated yet.
        rating = None if rng.random() < 0.03 else round(min(10.0, max(1.0, rng.gauss(6.6, 1.1))), 1)
        cast = rng.sample(pool, rng.randint(3, 8))
        crew = rng.sample(pool, rng.randint(2, 3))
        yield FilmRecord(
            source_id=f"demo-{seed}-{number}",
            title=rng.choice(_PATTERNS).format(**words),
            description=rng.choice(_PLOTS).format(**words),
            imdb_rating=rating,
            genres=tuple(rng.sample(GENRES, rng.randint(1, 3))),
            people=(
                *((name, Role.ACTOR) for name in cast),
                *((name, Role.WRITER) for name in crew[1:]),
                (crew[0], Role.DIRECTOR),
            ),
        )


def _people(rng: random.Random, count: int) -> list[str]:
    initials = ("", *(f"{letter}. " for letter in "ABCDEFGHIJKLMNOPRSTVW"))
    names = [f"{first} {initial}{last}" for first in _FIRST for initial in initials for last in _LAST]
    return rng.sample(names, min(count, len(names)))
