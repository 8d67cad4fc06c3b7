"""`flask superuser create|delete`: manage the accounts that hold every permission."""

from __future__ import annotations

from collections.abc import Callable

import click
from marshmallow import ValidationError

from movies_auth.cli.common import AdminGroup, confirm, describe_invalid, reaches_running_servers, yes_option
from movies_auth.domain import accounts, permission_cache
from movies_auth.domain.built_ins import SUPERUSER_PERMISSION
from movies_auth.domain.permissions import superuser_role
from movies_auth.web.schemas import RegistrationSchema

superuser_group = AdminGroup("superuser", help="Create and delete superusers.")


@superuser_group.command("create")
@click.option("--email", help="Prompted for when missing.")
@click.option("--first-name", help="Prompted for when missing (may be left empty).")
@click.option("--last-name", help="Prompted for when missing (may be left empty).")
@click.option("--password", help="Prompted for (hidden, twice) when missing.")
def create_superuser(
    email: str | None = None, first_name: str | None = None, last_name: str | None = None, password: str | None = None
) -> None:
    """Create a user holding the superuser role (its email counts as verified: the operator vouches for it)."""
    details = {
        "email": email or click.prompt("Email", value_proc=_checked("email")),
        "first_name": _optional(first_name, "First name"),
        "last_name": _optional(last_name, "Last name"),
        "password": password or _prompt_password(),
    }
    user = accounts.register(**RegistrationSchema().load(details), roles=[superuser_role()], verified=True)
    click.echo(f"Superuser {user.email} created (uuid {user.id}).")


@superuser_group.command("delete")
@reaches_running_servers
@click.option("--email", help="Prompted for when missing.")
@yes_option
def delete_superuser(email: str | None, yes: bool) -> None:
    """Delete a superuser's account; all its tokens die. The last superuser cannot be deleted."""
    email = email or click.prompt("Email")
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    if SUPERUSER_PERMISSION not in permission_cache.permission_names(user.id):
        raise click.ClickException(f"{user.email} is not a superuser.")
    confirm(f"Delete superuser {user.email}?", yes)
    accounts.delete_user(user)
    click.echo(f"Superuser {user.email} deleted.")


def _problem(field: str, value: str) -> str | None:
    """What is wrong with one registration field, by the API's own schema (and, for an email, whether it is
    taken); None when nothing is."""
    try:
        RegistrationSchema(only=(field,)).load({field: value})
    except ValidationError as error:
        return describe_invalid(error.messages)
    if field == "email" and accounts.find_by_email(value) is not None:
        return accounts.EmailTaken().msg
    return None


def _checked(field: str) -> Callable[[str], str]:
    """A prompt's check of `field`: a refused answer is explained and asked again."""

    def check(value: str) -> str:
        if problem := _problem(field, value):
            raise click.BadParameter(problem)
        return value

    return check


def _prompt_password() -> str:
    """The password, hidden and typed twice; a refused one is explained (never echoed) and asked again."""
    while True:
        password = click.prompt("Password", hide_input=True)
        if problem := _problem("password", password):
            click.echo(f"Error: {problem}", err=True)
        elif click.prompt("Repeat for confirmation", hide_input=True) != password:
            click.echo("Error: The two entered values do not match.", err=True)
        else:
            return password


def _optional(value: str | None, label: str) -> str | None:
    """An optional detail: the option's value, else prompted for (and checked); empty means none."""
    if value is None:
        field = label.lower().replace(" ", "_")
        value = click.prompt(label, default="", show_default=False, value_proc=_checked(field))
    return value or None
