"""`flask history prune` and `flask history partitions`, on whichever database the suite runs (SQLite's one plain
table, or PostgreSQL's monthly partitions; `make test-ha` covers the partitions in depth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from movies_auth.extensions import db
from movies_auth.models import LoginAttempt


def add_attempts(app, *days_ago: int) -> None:
    with app.app_context():
        for days in days_ago:
            db.session.add(LoginAttempt(user_id=None, email=None, success=False,
                                        time=datetime.now(UTC) - timedelta(days=days)))  # fmt: skip
        db.session.commit()


def attempts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LoginAttempt))


def test_prune_deletes_every_attempt_before_the_day(app):
    add_attempts(app, 400, 100, 1)
    before = (datetime.now(UTC) - timedelta(days=50)).date()

    result = app.test_cli_runner().invoke(args=["history", "prune", "--before", before.isoformat()])

    assert result.exit_code == 0, result.output
    assert f"deleted 2 login attempts before {before.isoformat()}." in result.output
    assert attempts(app) == 1


def test_prune_by_retention_keeps_every_month_younger_than_it(app, limits):
    limits(login_history_retention=timedelta(days=200))
    add_attempts(app, 400, 100, 1)

    result = app.test_cli_runner().invoke(args=["history", "prune", "--json"])

    assert result.exit_code == 0, result.output
    assert attempts(app) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--before", "2026-02-30"], "Invalid value for '--before'"),
        (["--before", "01/02/2026"], "Invalid value for '--before'"),
        ([], "Give --before DATE, or set LOGIN_HISTORY_RETENTION."),
    ],
)
def test_prune_refuses_what_is_no_day_and_deletes_nothing(app, arguments, message):
    add_attempts(app, 400)

    result = app.test_cli_runner().invoke(args=["history", "prune", *arguments])

    assert result.exit_code == 2
    assert message in result.output
    assert attempts(app) == 1


def test_partitions_exist_on_postgresql_only(app):
    result = app.test_cli_runner().invoke(args=["history", "partitions", "--json"])

    with app.app_context():
        partitioned = db.engine.dialect.name == "postgresql"
    if partitioned:
        assert result.exit_code == 0, result.output
        assert datetime.now(UTC).strftime("%Y-%m") in result.output
    else:
        assert result.exit_code == 1
        assert "one plain table here (SQLite)" in result.output
