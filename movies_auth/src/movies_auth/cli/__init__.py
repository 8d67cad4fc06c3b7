"""The admin surface: `flask --app movies_auth <group> <command>`."""

from flask import Flask

from movies_auth.cli.history import history_group
from movies_auth.cli.mail import mail_group
from movies_auth.cli.permissions import permissions_group
from movies_auth.cli.roles import roles_group
from movies_auth.cli.service_accounts import services_group
from movies_auth.cli.setup import app_group
from movies_auth.cli.signing_keys import keys_group
from movies_auth.cli.superuser import superuser_group
from movies_auth.cli.users import users_group


def register_commands(app: Flask) -> None:
    """Add every command group to the app's `flask` CLI."""
    groups = (
        app_group,
        superuser_group,
        users_group,
        roles_group,
        permissions_group,
        services_group,
        keys_group,
        mail_group,
    )
    for group in (*groups, history_group):
        app.cli.add_command(group)
