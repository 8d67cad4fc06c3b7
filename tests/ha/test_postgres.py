"""PostgreSQL at scale: login history partitioned by month (the migration of existing rows, partitions made ahead,
whole months pruned) and lag-tolerant reads from a streaming replica that fall back to the primary."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from flask import Flask
from flask_migrate import downgrade, upgrade
from movies_async_api.app import create_app as create_movies_api
from movies_async_api.settings import Settings as MoviesSettings
from movies_auth.domain import history_partitions
from movies_auth.domain.history_partitions import month_start, next_month, partition_name
from movies_auth.extensions import db
from sqlalchemy import text

from conftest import PG_PRIMARY_PORT, PG_REPLICA_PORT, auth_app
from testkit.postgres_server import PostgresServer
from testkit.stores import fresh_database

API = "/auth/api/v1"
PASSWORD = "correct horse battery"


@pytest.fixture
def scratch_database(database_url: str, request: pytest.FixtureRequest) -> str:
    return fresh_database(database_url, f"{database_url.rsplit('/', 1)[1]}_{request.node.name[:30].lower()}")


@pytest.fixture
def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def months_back(count: int) -> date:
    month = month_start(datetime.now(UTC))
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def add_attempts(app: Flask, *times: datetime) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for moment in times:
            connection.execute(
                text(
                    "INSERT INTO login_history (id, email, time, success) VALUES (:id, 'a***@example.com', :t, false)"
                ),
                {"id": uuid.uuid4(), "t": moment},
            )


def placement(app: Flask) -> list[tuple[datetime, str]]:
    """Each attempt's time and the partition that holds it."""
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(text("SELECT time, tableoid::regclass::text FROM login_history ORDER BY time"))
        return [tuple(row) for row in rows]


def partition_months(app: Flask) -> list[date]:
    with app.app_context(), db.engine.connect() as connection:
        return history_partitions.months(connection)


def test_the_migration_moves_existing_login_history_into_monthly_partitions(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url, migrate=False)
    with app.app_context():
        upgrade(revision="0003")
    times = [at(months_back(14)), at(months_back(2), 1), at(months_back(2), 23), at(months_back(0))]
    add_attempts(app, *times)

    with app.app_context():
        upgrade()

    assert placement(app) == [(moment, partition_name(month_start(moment))) for moment in times]
    this_month = month_start(datetime.now(UTC))
    months = partition_months(app)
    assert months[0] == months_back(14)
    assert months[-1] == next_month(next_month(next_month(this_month)))  # three months ahead
    assert len(months) == 14 + 1 + 3  # every month in between too: none is left to the default partition


def test_the_migration_refuses_nothing_on_an_empty_history_and_goes_back_down(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url)
    add_attempts(app, at(months_back(1)))
    with app.app_context():
        downgrade(revision="0003")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM login_history")) == 1
            assert connection.scalar(text("SELECT to_regclass('login_history_partitions.other')")) is None
        upgrade()
    assert [partition for _, partition in placement(app)] == [partition_name(months_back(1))]


def test_the_service_makes_the_coming_months_by_itself(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url)
    this_month = month_start(datetime.now(UTC))
    with app.app_context(), db.engine.begin() as connection:
        for month in history_partitions.months(connection):
            if month > this_month:
                connection.execute(text(f"DROP TABLE {partition_name(month)}"))
    assert partition_months(app)[-1] == this_month
    history_partitions._checked_at = None  # a worker that has not checked yet

    answer = app.test_client().post(f"{API}/auth_token", json={"email": "nobody@example.com", "password": PASSWORD})

    assert answer.status_code == 401
    assert partition_months(app)[-1] == next_month(next_month(next_month(this_month)))


def test_a_month_made_late_takes_its_rows_from_the_default_partition(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url)
    far = month_start(datetime.now(UTC))
    for _ in range(12):
        far = next_month(far)
    add_attempts(app, at(far))
    assert placement(app) == [(at(far), history_partitions.DEFAULT_PARTITION)]

    with app.app_context(), db.engine.begin() as connection:
        assert history_partitions.make_months(connection, far, far) == [far]

    assert placement(app) == [(at(far), partition_name(far))]


def test_prune_drops_whole_months_and_deletes_the_rest_row_by_row(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url)
    old, older, cut = months_back(3), months_back(2), months_back(1)
    with app.app_context(), db.engine.begin() as connection:
        history_partitions.make_months(connection, old, cut)
    add_attempts(app, at(old), at(older), at(cut.replace(day=5)), at(cut.replace(day=20)), datetime.now(UTC))
    before = cut.replace(day=10)

    result = app.test_cli_runner().invoke(args=["history", "prune", "--before", before.isoformat()])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Dropped the partitions of {old:%Y-%m}, {older:%Y-%m}; deleted 1 login attempts before {before.isoformat()}."
    )
    assert [moment for moment, _ in placement(app)][:1] == [at(cut.replace(day=20))]
    assert len(placement(app)) == 2
    assert old not in partition_months(app) and older not in partition_months(app)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--before", "2026-13-01"], "Invalid value for '--before'"),
        (["--before", "yesterday"], "Invalid value for '--before'"),
        ([], "Give --before DATE, or set LOGIN_HISTORY_RETENTION."),
    ],
)
def test_prune_refuses_a_bad_date_and_changes_nothing(tmp_path, scratch_database, redis_url, arguments, message):
    app = auth_app(tmp_path, scratch_database, redis_url)
    add_attempts(app, at(months_back(5)))
    months = partition_months(app)

    result = app.test_cli_runner().invoke(args=["history", "prune", *arguments])

    assert result.exit_code == 2
    assert message in result.output
    assert len(placement(app)) == 1
    assert partition_months(app) == months


def test_retention_drops_only_months_wholly_older_than_it(tmp_path, scratch_database, redis_url):
    app = auth_app(tmp_path, scratch_database, redis_url, login_history_retention=timedelta(days=60))
    with app.app_context(), db.engine.begin() as connection:
        history_partitions.make_months(connection, months_back(6), months_back(0))
    kept_from = month_start(datetime.now(UTC) - timedelta(days=60))
    add_attempts(app, at(months_back(6)), at(kept_from.replace(day=1), 0), datetime.now(UTC))

    result = app.test_cli_runner().invoke(args=["history", "prune", "--json"])

    assert result.exit_code == 0, result.output
    assert len(placement(app)) == 2
    assert min(partition_months(app)) == kept_from


@pytest.fixture
def replicated() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A PostgreSQL primary and a streaming replica of it made by pg_basebackup, on loopback."""
    work = Path(tempfile.mkdtemp(prefix="movies-ha-"))
    work.chmod(0o755)  # the servers run as user postgres; pytest's tmp_path is private to its user
    primary = PostgresServer(work / "primary", port=PG_PRIMARY_PORT)
    primary.create()
    primary.start()
    replica = PostgresServer(work / "replica", port=PG_REPLICA_PORT)
    try:
        replica.copy_as_replica_of(primary)
        replica.start()
        yield primary, replica
    finally:
        for server in (replica, primary):
            try:
                server.stop()
            except subprocess.CalledProcessError:
                pass  # stopped by the test already
        shutil.rmtree(work, ignore_errors=True)


def logins_total(client, user_id: str, token: str) -> int:
    answer = client.get(f"{API}/users/{user_id}/logins", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.json
    return answer.json["total"]


def replay(replica: PostgresServer, action: str) -> None:
    """Pause or resume the replica's replay; a pause returns once replay has stopped, not when it was asked."""
    with psycopg.connect(replica.url, autocommit=True) as connection:
        connection.execute(f"SELECT pg_wal_replay_{action}()")
        deadline = time.monotonic() + 10
        while action == "pause" and time.monotonic() < deadline:
            if connection.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused":
                return
            time.sleep(0.02)
        assert action != "pause", "the replica did not pause its replay"


def test_login_history_is_read_from_the_replica_and_from_the_primary_when_it_is_down(tmp_path, replicated, redis_url):
    primary, replica = replicated
    database = fresh_database(primary.url, "auth")
    replica_url = database.replace(f":{primary.port}/", f":{replica.port}/")
    app = auth_app(tmp_path, database, redis_url, database_replica_url=replica_url)
    client = app.test_client()
    user_id = client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD}).json["uuid"]
    token = client.post(f"{API}/auth_token", json={"email": "ada@example.com", "password": PASSWORD}).json[
        "access_token"
    ]
    deadline = time.monotonic() + 10
    while logins_total(client, user_id, token) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logins_total(client, user_id, token) == 1

    replay(replica, "pause")
    client.post(f"{API}/auth_token", json={"email": "ada@example.com", "password": PASSWORD})
    assert logins_total(client, user_id, token) == 1  # the replica has not replayed the second login yet
    replay(replica, "resume")
    deadline = time.monotonic() + 10
    while logins_total(client, user_id, token) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logins_total(client, user_id, token) == 2

    replica.stop()
    client.post(f"{API}/auth_token", json={"email": "ada@example.com", "password": PASSWORD})
    assert logins_total(client, user_id, token) == 3  # from the primary


def genre_names(client) -> set[str]:
    answer = client.get("/api/v1/genres")
    assert answer.status_code == 200, answer.text
    return {genre["name"] for genre in answer.json()}


def test_the_catalogue_is_read_from_the_replica_and_from_the_primary_when_it_is_down(replicated):
    primary, replica = replicated
    database = fresh_database(primary.url, "movies")
    replica_url = database.replace(f":{primary.port}/", f":{replica.port}/")
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("CREATE TABLE genres (id uuid PRIMARY KEY, name varchar(100) UNIQUE NOT NULL)")
        connection.execute("INSERT INTO genres VALUES (gen_random_uuid(), 'Drama')")
    settings = MoviesSettings(
        _env_file=None, app_env="testing", database_url=database, database_replica_url=replica_url,
        response_cache_ttl=0, auth_service_url="http://127.0.0.1:9",
    )  # fmt: skip
    with TestClient(create_movies_api(settings)) as client:
        deadline = time.monotonic() + 10
        while genre_names(client) != {"Drama"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert genre_names(client) == {"Drama"}

        replay(replica, "pause")
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("INSERT INTO genres VALUES (gen_random_uuid(), 'Comedy')")
        assert genre_names(client) == {"Drama"}  # the replica has not replayed it yet
        replay(replica, "resume")
        deadline = time.monotonic() + 10
        while genre_names(client) != {"Drama", "Comedy"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert genre_names(client) == {"Drama", "Comedy"}

        replica.stop()
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("INSERT INTO genres VALUES (gen_random_uuid(), 'Western')")
        assert genre_names(client) == {"Drama", "Comedy", "Western"}  # from the primary
