"""`flask superuser create|delete`: manage the accounts that hold every permission."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from movies_auth.errors import APIError
from movies_auth.schemas import RegistrationSchema
from movies_auth.services import accounts
from movies_auth.services.permissions import SUPERUSER_ROLE, superuser_role

superuser_group = AppGroup("superuser", help="Create and delete superusers.")


@superuser_group.command("create")
@click.option("--email", help="Prompted for when missing.")
@click.option("--first-name", help="Prompted for when missing (may be left empty).")
@click.option("--last-name", help="Prompted for when missing (may be left empty).")
@click.option("--password", help="Prompted for (hidden, twice) when missing.")
def create_superuser(
    email: str | None = None, first_name: str | None = None, last_name: str | None = None, password: str | None = None
) -> None:
    """Create a user holding the superuser role."""
    details = {
        "email": email or click.prompt("Email"),
        "first_name": _optional(first_name, "First name"),
        "last_name": _optional(last_name, "Last name"),
        "password": password or click.prompt("Password", hide_input=True, confirmation_prompt=True),
    }
    try:
        user = accounts.register(**RegistrationSchema().load(details), roles=[superuser_role()])
    except ValidationError as error:
        raise click.ClickException(_describe(error.messages)) from error
    except APIError as error:
        raise click.ClickException(error.msg) from error
    click.echo(f"Superuser {user.email} created (uuid {user.id}).")


@superuser_group.command("delete")
@click.option("--email", help="Prompted for when missing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_superuser(email: str | None, yes: bool) -> None:
    """Delete a superuser's account; all its tokens die."""
    email = email or click.prompt("Email")
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    if not any(role.name == SUPERUSER_ROLE for role in user.roles):
        raise click.ClickException(f"{user.email} is not a superuser.")
    if not yes:
        click.confirm(f"Delete superuser {user.email}?", abort=True)
    accounts.delete_user(user)
    click.echo(f"Superuser {user.email} deleted.")


def _optional(value: str | None, label: str) -> str | None:
    """An optional detail: the option's value, else prompted for; empty means none."""
    if value is None:
        value = click.prompt(label, default="", show_default=False)
    return value or None


def _describe(messages: dict) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, problems))}" for field, problems in messages.items())
