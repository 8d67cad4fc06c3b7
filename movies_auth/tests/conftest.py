"""Test fixtures: the app on real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set, else embedded."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from auth_support import GENEROUS_LIMIT, PASSWORD, Account, give, login, register
from movies_auth import create_app
from movies_auth.domain.built_ins import ADMIN_PERMISSION, SUPERUSER_ROLE
from movies_auth.domain.permissions import seed_defaults
from movies_auth.extensions import db
from movies_auth.settings import Settings
from testkit.stores import suite_database, suite_redis

GENEROUS_FAILURES = 10_000


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    # Stores of its own: the other suites, and the other xdist workers, run on the same servers at the same time.
    if database_url:
        database_url = suite_database(database_url, "auth")
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return Settings(
        _env_file=None,
        app_env="testing",
        instance_path=tmp_path_factory.mktemp("instance"),
        database_url=database_url,
        redis_url=suite_redis(redis_url, 0) if redis_url else None,
        jwt_secret_key="test-signing-secret-that-is-long-enough-0123456789",
        # The OWASP minimum keeps the suite fast while exercising the real argon2id path.
        argon2_time_cost=2,
        argon2_memory_cost=19456,
        argon2_parallelism=1,
        login_rate_limit_per_ip=GENEROUS_LIMIT,
        login_free_failures=GENEROUS_FAILURES,
        login_free_failures_per_account=GENEROUS_FAILURES,
        register_rate_limit_per_ip=GENEROUS_LIMIT,
        refresh_rate_limit_per_session=GENEROUS_LIMIT,
        email_change_rate_limit_per_account=GENEROUS_LIMIT,
        email_change_rate_limit_per_ip=GENEROUS_LIMIT,
        mail_rate_limit_per_address=GENEROUS_LIMIT,
        mail_rate_limit_per_ip=GENEROUS_LIMIT,
        link_confirm_rate_limit_per_ip=GENEROUS_LIMIT,
        # Tests log in from many threads at once; test_password_hashing holds the worker's own bound.
        password_hashing_concurrency=4,
        password_hashing_queue=1000,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    with app.app_context():
        # Built by the real migrations, from scratch, so the suite also proves they run on this database.
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        app.extensions["redis"].ping()  # unreachable Redis fails the run here, never skips it
    yield app


@pytest.fixture(autouse=True)
def clean_state(app: Flask, settings: Settings) -> Iterator[None]:
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        seed_defaults()
        app.extensions["redis"].flushdb()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_account(client: FlaskClient):
    """Register a user and log in: `make_account("ada@example.com")`."""

    def make(email: str, password: str = PASSWORD) -> Account:
        created = register(client, email, password)
        assert created.status_code == 201, created.json
        tokens = login(client, email, password).json
        return Account(created.json["uuid"], email, password, tokens["access_token"], tokens["refresh_token"])

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account("ada@example.com")


@pytest.fixture
def superuser(app: Flask, make_account) -> Account:
    """An account holding the superuser role (and so `all_all`)."""
    root = make_account("root@example.com")
    give(app, root, role=SUPERUSER_ROLE)
    return root


@pytest.fixture
def admin(app: Flask, make_account) -> Account:
    """An account holding `permissions_admin` (but not `all_all`)."""
    manager = make_account("manager@example.com")
    give(app, manager, permission=ADMIN_PERMISSION)
    return manager


@pytest.fixture
def limits(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """Tighten one limit of the running app: `limits(login_free_failures=3)`."""

    def tighten(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setattr(app.extensions["settings"], name, value)

    return tighten


@pytest.fixture
def count_queries(app: Flask):
    """A context manager counting the SQL statements the app runs inside it."""

    class Counter:
        def __init__(self) -> None:
            self.statements: list[str] = []

        def __enter__(self) -> Counter:
            with app.app_context():
                self.engine = db.engine
            event.listen(self.engine, "before_cursor_execute", self._record)
            return self

        def __exit__(self, *exc: object) -> None:
            event.remove(self.engine, "before_cursor_execute", self._record)

        def _record(self, _conn, _cursor, statement, *_args) -> None:
            self.statements.append(statement)

    return Counter
