"""The admin surface: `flask --app movies_auth <group> <command>`."""

from flask import Flask

from movies_auth.cli.permissions import permissions_group
from movies_auth.cli.roles import roles_group
from movies_auth.cli.setup import app_group
from movies_auth.cli.superuser import superuser_group
from movies_auth.cli.users import users_group


def register_commands(app: Flask) -> None:
    """Add every command group to the app's `flask` CLI."""
    for group in (app_group, superuser_group, users_group, roles_group, permissions_group):
        app.cli.add_command(group)
