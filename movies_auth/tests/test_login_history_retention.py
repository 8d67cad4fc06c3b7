"""What the login history keeps of attempts on unknown emails (a masked address, never what was typed), and
how long failed attempts are kept (`FAILED_LOGIN_RETENTION`, pruned by `flask users prune-failed-logins`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from auth_support import login
from movies_auth.extensions import db
from movies_auth.models import LoginAttempt


def unknown_emails(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(LoginAttempt.email).where(LoginAttempt.user_id.is_(None))))


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("nobody@example.com", "n***@example.com"),
        ("Grace.Hopper@Example.ORG", "g***@example.org"),
        ("my secret passphrase", None),  # a password in the wrong field
        ("x" * 200 + "@" + "y" * 40 + ".com", "x***@" + "y" * 40 + ".com"),
        ("not@an@address", None),
    ],
)
def test_an_unknown_email_is_kept_masked_or_not_at_all(app, client, typed, kept):
    assert login(client, typed, "wrong password!").status_code == 401

    assert unknown_emails(app) == [kept]


def add_attempt(app, account, *, days_ago: int, success: bool) -> None:
    with app.app_context():
        db.session.add(LoginAttempt(user_id=uuid.UUID(account.uuid) if account else None, email=None, success=success,
                                    time=datetime.now(UTC) - timedelta(days=days_ago)))  # fmt: skip
        db.session.commit()


def attempts(app) -> list[tuple[bool, int]]:
    with app.app_context():
        now = datetime.now(UTC)
        rows = db.session.scalars(select(LoginAttempt))
        return sorted((row.success, (now - row.time).days) for row in rows)


def test_pruning_deletes_failed_attempts_past_the_retention_only(app, account):
    # The account also logged in once today (the fixture).
    for days_ago, success in [(100, False), (100, True), (89, False), (200, False)]:
        add_attempt(app, account, days_ago=days_ago, success=success)
    add_attempt(app, None, days_ago=91, success=False)

    result = app.test_cli_runner().invoke(args=["users", "prune-failed-logins"])

    assert result.exit_code == 0, result.output
    assert result.output == "Deleted 3 failed login attempts older than 90 days.\n"
    assert attempts(app) == [(False, 89), (True, 0), (True, 100)]


def test_the_retention_is_a_setting(app, account, limits):
    add_attempt(app, account, days_ago=10, success=False)
    limits(failed_login_retention=timedelta(days=7))

    result = app.test_cli_runner().invoke(args=["users", "prune-failed-logins"])

    assert result.output == "Deleted 1 failed login attempts older than 7 days.\n"
