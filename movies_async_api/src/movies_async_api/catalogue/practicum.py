"""Reader of the Practicum movies SQLite format: tables `movies`, `actors`, `writers`, `movie_actors`."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from movies_async_api.catalogue.records import FilmRecord, clean_name
from movies_async_api.models import Role

MISSING = "N/A"
REQUIRED_TABLES = {"movies", "actors", "writers", "movie_actors"}
# Credits such as "Olivia Mori(co-director)" name the person, then the kind of credit.
_CREDIT_NOTE = re.compile(r"\s*\([^)]*\)\s*$")


class SourceError(ValueError):
    """The file is not a readable Practicum movies database."""


def _person(text: str | None) -> str | None:
    name = clean_name(_CREDIT_NOTE.sub("", text or ""))
    return name if name and name != MISSING else None


def _names(text: str | None) -> list[str]:
    return [name for part in (text or "").split(",") if (name := _person(part))]


def _rating(text: str | None) -> float | None:
    if text is None or text.strip() in ("", MISSING):
        return None
    rating = float(text)
    if not 0 <= rating <= 10:
        raise SourceError(f"imdb_rating {text!r} is outside 0 to 10")
    return rating


def _writer_ids(writer: str | None, writers: str | None) -> list[str]:
    # Older rows name one writer in `writer`; newer ones list several as JSON in `writers`.
    if writers and writers.strip():
        try:
            return [entry["id"] for entry in json.loads(writers)]
        except (ValueError, TypeError, KeyError) as error:
            raise SourceError(f"writers is not a JSON list of {{'id': ...}}: {writers[:80]!r}") from error
    return [writer] if writer and writer.strip() else []


def count_films(path: Path) -> int:
    """How many films the file holds."""
    with closing(_open(path)) as source:
        return source.execute("SELECT count(*) FROM movies").fetchone()[0]


def read_films(path: Path) -> Iterator[FilmRecord]:
    """Every film in the file, with its genres and people; repeated credits are given once."""
    with closing(_open(path)) as source:
        actors = dict(source.execute("SELECT id, name FROM actors"))
        writers = dict(source.execute("SELECT id, name FROM writers"))
        cast: dict[str, list[str]] = defaultdict(list)
        for movie_id, actor_id in source.execute("SELECT movie_id, actor_id FROM movie_actors ORDER BY rowid"):
            if name := _person(actors.get(int(actor_id)) if str(actor_id).isdigit() else None):
                cast[movie_id].append(name)
        rows = source.execute(
            "SELECT id, title, plot, imdb_rating, genre, director, writer, writers FROM movies ORDER BY id"
        )
        for movie_id, title, plot, rating, genre, director, writer, writer_list in rows:
            people = [(name, Role.ACTOR) for name in cast[movie_id]]
            credited = (_person(writers.get(wid)) for wid in _writer_ids(writer, writer_list))
            people += [(name, Role.WRITER) for name in credited if name]
            people += [(name, Role.DIRECTOR) for name in _names(director)]
            yield FilmRecord(
                source_id=movie_id,
                title=clean_name(title or ""),
                description=None if not plot or plot.strip() == MISSING else plot.strip(),
                imdb_rating=_rating(rating),
                genres=tuple(dict.fromkeys(_names(genre))),
                people=tuple(dict.fromkeys(people)),
            )


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(f"{path} does not exist")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {name for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        source.close()
        raise SourceError(f"{path} is not a SQLite database") from error
    if missing := REQUIRED_TABLES - tables:
        source.close()
        raise SourceError(f"{path} lacks the table(s) {', '.join(sorted(missing))}")
    return source
