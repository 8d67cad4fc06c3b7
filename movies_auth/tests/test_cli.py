"""The admin CLI, driven through Flask's runner the way an operator types it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from auth_support import API, bearer, login, row_count
from movies_auth.domain.built_ins import DEFAULT_PERMISSIONS, DEFAULT_ROLES
from movies_auth.extensions import db
from movies_auth.models import Permission, Role, User
from testkit.ports import free_port


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def users_by_email(app) -> dict[str, list[str]]:
    with app.app_context():
        return {user.email: [role.name for role in user.roles] for user in db.session.scalars(select(User))}


def superuser_token_from_cli(runner, client, email: str = "root@example.com") -> str:
    """Create a superuser the way an operator does, and log in as them."""
    options = ["--email", email, "--password", "super secret pw", "--first-name", "", "--last-name", ""]
    assert runner.invoke(args=["superuser", "create", *options]).exit_code == 0
    return login(client, email, "super secret pw").json["access_token"]


def test_app_init_creates_the_default_permissions_and_roles(app, runner):
    with app.app_context():
        db.session.execute(Role.__table__.delete())
        db.session.execute(Permission.__table__.delete())
        db.session.commit()

    result = runner.invoke(args=["app", "init"])

    assert result.exit_code == 0, result.output
    assert "Created permission all_all" in result.output
    with app.app_context():
        assert set(db.session.scalars(select(Permission.name))) == set(DEFAULT_PERMISSIONS)
        roles = {role.name: [p.name for p in role.permissions] for role in db.session.scalars(select(Role))}
    assert roles == {"superuser": ["all_all"], "subscriber": ["pro_read"]}
    assert set(roles) == set(DEFAULT_ROLES)


def test_app_init_is_idempotent(app, runner):
    runner.invoke(args=["app", "init"])

    result = runner.invoke(args=["app", "init"])

    assert result.exit_code == 0
    assert "already exist" in result.output
    assert row_count(app, Permission) == 3 and row_count(app, Role) == 2


def test_app_init_with_superuser_prompts_for_one(app, runner):
    answers = "root@example.com\nRoot\n\nsuper secret pw\nsuper secret pw\n"

    result = runner.invoke(args=["app", "init", "--with-superuser"], input=answers)

    assert result.exit_code == 0, result.output
    assert users_by_email(app) == {"root@example.com": ["superuser"]}
    with app.app_context():
        names = db.session.execute(select(User.first_name, User.last_name)).one()
    assert tuple(names) == ("Root", None)  # an empty answer means no name


def test_superuser_create_from_options(app, client, runner):
    result = runner.invoke(
        args=[
            "superuser",
            "create",
            "--email",
            "Root@Example.com",
            "--first-name",
            "Ro",
            "--last-name",
            "Ot",
            "--password",
            "super secret pw",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Superuser root@example.com created" in result.output
    assert users_by_email(app) == {"root@example.com": ["superuser"]}
    assert login(client, "root@example.com", "super secret pw").status_code == 200


def test_superuser_create_prompts_for_what_is_missing_and_hides_the_password(app, runner):
    # A mismatched confirmation is asked again.
    answers = "root@example.com\n\n\nsuper secret pw\nnot the same pw\nsuper secret pw\nsuper secret pw\n"

    result = runner.invoke(args=["superuser", "create"], input=answers)

    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert "super secret pw" not in result.output
    assert users_by_email(app) == {"root@example.com": ["superuser"]}


def test_superuser_create_checks_each_answer_as_it_is_given(app, runner, account):
    answers = "\n".join(
        [
            "not-an-email",  # asked again at once, not after every other prompt
            account.email.upper(),  # taken, in any case
            "root@example.com",
            "x" * 200,  # too long a first name
            "Root",
            "",
            "short",  # too short a password: explained, never echoed
            "super secret pw",
            "super secret pw",
        ]
    )

    result = runner.invoke(args=["superuser", "create"], input=answers + "\n")

    assert result.exit_code == 0, result.output
    assert result.output.count("Email: ") == 3
    assert "Not a valid email address" in result.output
    assert "A user with this email already exists" in result.output
    assert result.output.count("First name: ") == 2
    assert "first_name: " in result.output
    assert "password: Length must be between 8 and 128" in result.output
    assert "short" not in result.output.replace("password: Length", "")
    assert users_by_email(app) == {"ada@example.com": [], "root@example.com": ["superuser"]}


def test_a_superuser_may_read_any_account(app, client, runner, account):
    token = superuser_token_from_cli(runner, client)

    assert client.get(f"{API}/users/{account.uuid}", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("ada@example.com", "super secret pw", "A user with this email already exists"),
        ("ADA@example.com", "super secret pw", "A user with this email already exists"),
        ("not-an-email", "super secret pw", "email: Not a valid email address"),
        ("root@example.com", "short", "password: Length must be between 8 and 128"),
    ],
)
def test_superuser_create_refuses_bad_input_with_a_clear_error(app, runner, account, email, password, message):
    result = runner.invoke(
        args=["superuser", "create", "--email", email, "--password", password, "--first-name", "", "--last-name", ""]
    )

    assert result.exit_code == 1
    assert message in result.output
    assert users_by_email(app) == {"ada@example.com": []}


def test_superuser_delete_removes_the_account_and_its_tokens(app, client, runner):
    token = superuser_token_from_cli(runner, client)
    superuser_token_from_cli(runner, client, "other-root@example.com")

    result = runner.invoke(args=["superuser", "delete"], input="root@example.com\ny\n")

    assert result.exit_code == 0, result.output
    assert "Superuser root@example.com deleted" in result.output
    assert users_by_email(app) == {"other-root@example.com": ["superuser"]}
    assert client.get(f"{API}/auth_token/validation", headers=bearer(token)).status_code == 401


def test_superuser_delete_refuses_to_delete_the_last_superuser(app, client, runner):
    token = superuser_token_from_cli(runner, client)

    result = runner.invoke(args=["superuser", "delete", "--email", "root@example.com", "--yes"])

    assert result.exit_code == 1
    assert "would leave nobody holding all_all" in result.output
    assert users_by_email(app) == {"root@example.com": ["superuser"]}
    assert client.get(f"{API}/auth_token/validation", headers=bearer(token)).status_code == 200


def test_superuser_delete_can_be_declined(app, runner, superuser):
    result = runner.invoke(args=["superuser", "delete", "--email", superuser.email], input="n\n")

    assert result.exit_code == 1
    assert superuser.email in users_by_email(app)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "No user with email nobody@example.com"),
        ("ada@example.com", "ada@example.com is not a superuser"),
    ],
)
def test_superuser_delete_refuses_unknown_users_and_non_superusers(app, runner, account, email, message):
    result = runner.invoke(args=["superuser", "delete", "--email", email, "--yes"])

    assert result.exit_code == 1
    assert message in result.output
    assert account.email in users_by_email(app)


def test_app_wait_returns_at_once_when_the_stores_answer(runner):
    result = runner.invoke(args=["app", "wait", "--timeout", "5"])
    assert result.exit_code == 0, result.output
    assert "The database and Redis answer." in result.output


def test_app_wait_gives_up_with_a_clear_error_when_nothing_answers(tmp_path):
    # A separate process: the app under test is already bound to working stores.
    env = os.environ | {
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "app", "wait", "--timeout", "1.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: Gave up after 1.5 s: database and redis unavailable."
    assert "Traceback" not in result.stderr
    assert 1.5 <= time.monotonic() - started < 20
