"""`flask permissions list|create|update|delete`: the named capabilities."""

from __future__ import annotations

import click

from movies_auth.cli.common import (
    AdminGroup,
    changes_given,
    confirm,
    json_option,
    print_items,
    reaches_running_servers,
    report,
    yes_option,
)
from movies_auth.domain import permissions
from movies_auth.web.schemas import PermissionSchema, PermissionUpdateSchema

permissions_group = AdminGroup("permissions", help="List, create, update and delete permissions.")

COLUMNS = {"NAME": lambda p: p["name"], "DESCRIPTION": lambda p: p["description"], "UUID": lambda p: p["uuid"]}


@permissions_group.command("list")
@json_option
def list_permissions(as_json: bool) -> None:
    """List every permission."""
    print_items(permissions.list_permissions(), PermissionSchema(), COLUMNS, as_json=as_json, empty="No permissions.")


@permissions_group.command("create")
@click.argument("name")
@click.option("--description", default="", help="What holding it allows.")
@json_option
def create_permission(name: str, description: str, as_json: bool) -> None:
    """Create a permission."""
    permission = permissions.create_permission(**PermissionSchema().load({"name": name, "description": description}))
    report(permission, PermissionSchema(), f"Permission {permission.name} created.", as_json=as_json)


@permissions_group.command("update")
@reaches_running_servers
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@click.option("--description", help="A new description.")
@json_option
def update_permission(name: str, new_name: str | None, description: str | None, as_json: bool) -> None:
    """Rename a permission or change its description."""
    changes = changes_given(name=new_name, description=description)
    permission = permissions.update_permission(permissions.get_permission(name), PermissionUpdateSchema().load(changes))
    report(permission, PermissionSchema(), f"Permission {permission.name} updated.", as_json=as_json)


@permissions_group.command("delete")
@reaches_running_servers
@click.argument("name")
@yes_option
def delete_permission(name: str, yes: bool) -> None:
    """Delete a permission; every role and user granted it loses it."""
    permission = permissions.get_permission(name)
    confirm(f"Delete permission {permission.name} and every grant of it?", yes)
    permissions.delete_permission(permission)
    click.echo(f"Permission {name} deleted.")
