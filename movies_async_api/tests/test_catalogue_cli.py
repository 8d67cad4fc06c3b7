"""`movies-api`: the Practicum file loads completely and exactly, a second load changes nothing, ids are
stable across databases, the demo catalogue is deterministic, and bad input changes nothing.
"""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest

from movies_async_api.catalogue.records import NAMESPACE
from movies_support import FILMS, bearer, movies_api
from testkit.ports import free_port

EPISODE_IV = "tt0076759"


# The catalogue's own columns; PostgreSQL adds generated search columns that SQLite keeps elsewhere.
COLUMNS = {
    "films": "id, title, description, imdb_rating",
    "genres": "id, name",
    "persons": "id, full_name",
    "film_genres": "film_id, genre_id",
    "film_persons": "film_id, person_id, role",
}
TABLES = tuple(COLUMNS)


def _canonical(value: object) -> str:
    # SQLite keeps a uuid as 32 hex digits, PostgreSQL as a uuid: compare them as one text.
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def snapshot(database_url: str) -> dict[str, list]:
    """Every row of the catalogue, read with plain SQL, as sorted text: equal across both databases."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    else:
        import psycopg

        connection = psycopg.connect(database_url)
    with connection:
        return {
            table: sorted(
                tuple(map(_canonical, row))
                for row in connection.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 - fixed names
            )
            for table, columns in COLUMNS.items()
        }


def assert_same(actual: dict[str, list], expected: dict[str, list]) -> None:
    """Table by table, with a short report: a full diff of thousands of rows would drown the failure."""
    for table in TABLES:
        extra, missing = set(actual[table]) - set(expected[table]), set(expected[table]) - set(actual[table])
        assert not extra and not missing, (
            f"{table}: {len(extra)} extra, e.g. {sorted(extra)[:2]}; {len(missing)} missing, e.g. {sorted(missing)[:2]}"
        )
        assert len(actual[table]) == len(expected[table]), table


@pytest.fixture(scope="module")
def loaded(catalogue) -> dict[str, list]:
    return snapshot(catalogue)


def test_the_practicum_file_loads_completely(loaded):
    films = loaded["films"]
    assert len(films) == 999
    ratings = [row[3] for row in films]
    assert sum(1 for rating in ratings if rating != "None" and float(rating) > 7.0) == 437
    assert ratings.count("None") == 1  # the one "N/A"
    assert len(loaded["genres"]) == 26
    names = [row[1] for row in loaded["persons"]]
    assert "N/A" not in names
    assert len(names) == len(set(names))  # each person once, whatever they did
    assert "Olivia Mori" in names and not any("(" in name for name in names)


def test_every_credit_of_the_source_is_loaded(loaded, practicum_file):
    source = sqlite3.connect(practicum_file)
    cast = source.execute(
        "SELECT count(DISTINCT movie_id || '/' || actor_id) FROM movie_actors "
        "JOIN actors ON actors.id = movie_actors.actor_id WHERE actors.name != 'N/A'"
    ).fetchone()[0]
    assert sum(1 for link in loaded["film_persons"] if link[2] == "actor") == cast
    genres = sum(len(row[0].split(",")) for row in source.execute("SELECT genre FROM movies"))
    assert len(loaded["film_genres"]) == genres


def test_a_film_comes_with_its_people_and_genres(client, auth_service):
    episode_iv = uuid.uuid5(NAMESPACE, f"film:{EPISODE_IV}")
    response = client.get(f"{FILMS}/{episode_iv}", headers=bearer(auth_service.root_token))
    film = response.json()
    assert film["title"] == "Star Wars: Episode IV - A New Hope"
    assert film["imdb_rating"] == 8.6
    assert film["description"].startswith("The Imperial Forces")
    assert [person["full_name"] for person in film["directors"]] == ["George Lucas"]
    assert [person["full_name"] for person in film["writers"]] == ["George Lucas"]
    actors = {person["full_name"] for person in film["actors"]}
    assert {"Mark Hamill", "Harrison Ford", "Carrie Fisher"} <= actors
    assert {genre["name"] for genre in film["genre"]} == {"Action", "Adventure", "Fantasy", "Sci-Fi"}


def test_loading_again_changes_nothing(catalogue, loaded, practicum_file):
    again = movies_api(catalogue, "load-sqlite", str(practicum_file))
    assert again.returncode == 0, again.stderr
    assert "999 films read, 0 new or changed" in again.stdout
    assert_same(snapshot(catalogue), loaded)


def test_ids_are_stable_across_databases(tmp_path, loaded, practicum_file):
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert movies_api(other, "load-sqlite", str(practicum_file)).returncode == 0
    assert_same(snapshot(other), loaded)


def test_init_is_idempotent(tmp_path):
    database = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    for _ in range(2):
        done = movies_api(database, "init")
        assert done.returncode == 0, done.stderr
        assert "Schema ready" in done.stdout
    assert snapshot(database) == {table: [] for table in TABLES}


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda path: path / "missing.sqlite", "does not exist"),
        (lambda path: _write(path / "text.sqlite", b"this is not a database"), "is not a SQLite database"),
        (lambda path: _sqlite(path / "other.sqlite", "CREATE TABLE movies (id TEXT)"), "lacks the table(s) actors"),
    ],
)
def test_a_bad_source_is_a_clear_error_that_changes_nothing(catalogue, loaded, tmp_path, make_source, message):
    done = movies_api(catalogue, "load-sqlite", str(make_source(tmp_path)))
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert_same(snapshot(catalogue), loaded)


def test_a_rating_out_of_range_is_a_clear_error(tmp_path):
    source = tmp_path / "bad.sqlite"
    connection = sqlite3.connect(source)
    connection.executescript(
        "CREATE TABLE movies (id TEXT, genre TEXT, director TEXT, writer TEXT, title TEXT, plot TEXT, ratings TEXT,"
        " imdb_rating TEXT, writers TEXT); CREATE TABLE actors (id INTEGER, name TEXT);"
        " CREATE TABLE writers (id TEXT, name TEXT); CREATE TABLE movie_actors (movie_id TEXT, actor_id TEXT);"
        " INSERT INTO movies VALUES ('tt1', 'Drama', 'N/A', '', 'Odd', 'N/A', NULL, '42', '');"
    )
    connection.commit()
    database = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    done = movies_api(database, "load-sqlite", str(source))
    assert done.returncode == 1
    assert "outside 0 to 10" in done.stderr
    assert snapshot(database)["films"] == []


def test_the_demo_catalogue_is_deterministic(tmp_path):
    first, second, third = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite3", "b.sqlite3", "c.sqlite3"))
    for database, seed in ((first, "7"), (second, "7"), (third, "8")):
        done = movies_api(database, "demo", "--films", "120", "--seed", seed)
        assert done.returncode == 0, done.stderr
        assert "120 films read, 120 new or changed" in done.stdout
    assert_same(snapshot(first), snapshot(second))
    assert snapshot(first)["films"] != snapshot(third)["films"]
    films = snapshot(first)["films"]
    assert len(films) == 120
    rated = [float(row[3]) for row in films if row[3] != "None"]
    assert all(1.0 <= rating <= 10.0 for rating in rated)
    assert 0 < sum(rating > 7.0 for rating in rated) < len(rated)  # both access levels have something to see
    again = movies_api(first, "demo", "--films", "120", "--seed", "7")
    assert "0 new or changed" in again.stdout


def test_make_runs_demo_fills_only_an_empty_catalogue_and_replace_makes_a_new_one(tmp_path):
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    first = movies_api(database, "demo", "--films", "40", "--if-empty")
    assert first.returncode == 0, first.stderr
    before = snapshot(database)
    assert len(before["films"]) == 40

    skipped = movies_api(database, "demo", "--films", "60", "--if-empty")
    assert skipped.returncode == 0, skipped.stderr
    assert "already holds films" in skipped.stdout
    assert_same(snapshot(database), before)

    replaced = movies_api(database, "demo", "--films", "25", "--seed", "9", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "Deleted the catalogue of 40 films." in replaced.stdout
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert movies_api(fresh, "demo", "--films", "25", "--seed", "9").returncode == 0
    assert_same(snapshot(database), snapshot(fresh))


def test_replace_and_if_empty_together_are_a_usage_error_that_changes_nothing(tmp_path):
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert movies_api(database, "demo", "--films", "10").returncode == 0
    before = snapshot(database)
    done = movies_api(database, "demo", "--replace", "--if-empty")
    assert done.returncode == 2
    assert "contradict" in done.stderr
    assert_same(snapshot(database), before)


def test_load_sqlite_replace_drops_the_demo_catalogue(tmp_path, loaded, practicum_file):
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert movies_api(database, "demo", "--films", "50").returncode == 0

    kept = movies_api(database, "load-sqlite", str(practicum_file))
    assert len(snapshot(database)["films"]) == 50 + 999, kept.stderr

    replaced = movies_api(database, "load-sqlite", "--replace", str(practicum_file))
    assert replaced.returncode == 0, replaced.stderr
    assert "Deleted the catalogue of 1049 films." in replaced.stdout
    assert_same(snapshot(database), loaded)


def test_load_sqlite_replace_of_a_bad_source_keeps_the_catalogue(tmp_path):
    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert movies_api(database, "demo", "--films", "10").returncode == 0
    before = snapshot(database)
    done = movies_api(database, "load-sqlite", "--replace", str(tmp_path / "missing.sqlite"))
    assert done.returncode == 1
    assert_same(snapshot(database), before)


def test_an_unreachable_database_is_a_clear_error():
    done = movies_api(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none", "init")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: Cannot use the database at postgresql+asyncpg://nobody:***@127.0.0.1:")
    assert "secret" not in done.stderr
    assert "Traceback" not in done.stderr


def test_wait_returns_at_once_when_the_stores_answer(tmp_path):
    done = movies_api(f"sqlite:///{tmp_path / 'x.sqlite3'}", "wait", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The database and Redis answer."


def test_wait_gives_up_with_a_clear_error_when_nothing_answers():
    database = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none"
    started = time.monotonic()
    done = movies_api(database, "wait", "--timeout", "1.5", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: Gave up after 1.5 s: database and redis unavailable."
    assert 1.5 <= time.monotonic() - started < 20


@pytest.mark.parametrize("films", ["0", "-5", "many"])
def test_a_bad_demo_size_is_a_usage_error(tmp_path, films):
    done = movies_api(f"sqlite:///{tmp_path / 'x.sqlite3'}", "demo", "--films", films)
    assert done.returncode == 2
    assert "--films" in done.stderr


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _sqlite(path, script: str):
    connection = sqlite3.connect(path)
    connection.executescript(script)
    connection.close()
    return path
