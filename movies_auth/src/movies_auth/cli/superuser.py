"""`flask superuser create|delete`: manage the accounts that hold every permission."""

from __future__ import annotations

import click

from movies_auth.cli.common import AdminGroup, confirm, reaches_running_servers, yes_option
from movies_auth.schemas import RegistrationSchema
from movies_auth.services import access, accounts
from movies_auth.services.access import SUPERUSER_PERMISSION
from movies_auth.services.permissions import superuser_role

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
        "email": email or click.prompt("Email"),
        "first_name": _optional(first_name, "First name"),
        "last_name": _optional(last_name, "Last name"),
        "password": password or click.prompt("Password", hide_input=True, confirmation_prompt=True),
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
    if SUPERUSER_PERMISSION not in access.permission_names(user.id):
        raise click.ClickException(f"{user.email} is not a superuser.")
    confirm(f"Delete superuser {user.email}?", yes)
    accounts.delete_user(user)
    click.echo(f"Superuser {user.email} deleted.")


def _optional(value: str | None, label: str) -> str | None:
    """An optional detail: the option's value, else prompted for; empty means none."""
    if value is None:
        value = click.prompt(label, default="", show_default=False)
    return value or None
