"""`flask roles list|create|update|delete|grant|revoke`: named sets of permissions."""

from __future__ import annotations

import click

from movies_auth.cli.common import (
    AdminGroup,
    changes_given,
    confirm,
    json_option,
    names,
    print_items,
    reaches_running_servers,
    report,
    yes_option,
)
from movies_auth.domain import permissions, roles
from movies_auth.web.schemas import RoleSchema, RoleUpdateSchema

roles_group = AdminGroup("roles", help="List, create, update and delete roles, and manage what they grant.")

COLUMNS = {
    "NAME": lambda r: r["name"],
    "DESCRIPTION": lambda r: r["description"],
    "PERMISSIONS": lambda r: names(r["permissions"]),
}


@roles_group.command("list")
@json_option
def list_roles(as_json: bool) -> None:
    """List every role and the permissions it grants."""
    print_items(roles.list_roles(), RoleSchema(), COLUMNS, as_json=as_json, empty="No roles.")


@roles_group.command("create")
@click.argument("name")
@click.option("--description", default="", help="Who the role is for.")
@click.option("--permission", "granted", multiple=True, help="A permission it grants (repeatable).")
@json_option
def create_role(name: str, description: str, granted: tuple[str, ...], as_json: bool) -> None:
    """Create a role, optionally granting permissions."""
    details = RoleSchema().load({"name": name, "description": description})
    role = roles.create_role(**details, permissions=[permissions.get_permission(p) for p in granted])
    report(role, RoleSchema(), f"Role {role.name} created.", as_json=as_json)


@roles_group.command("update")
@reaches_running_servers
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@click.option("--description", help="A new description.")
@json_option
def update_role(name: str, new_name: str | None, description: str | None, as_json: bool) -> None:
    """Rename a role or change its description."""
    changes = changes_given(name=new_name, description=description)
    role = roles.update_role(roles.get_role(name), RoleUpdateSchema().load(changes))
    report(role, RoleSchema(), f"Role {role.name} updated.", as_json=as_json)


@roles_group.command("delete")
@reaches_running_servers
@click.argument("name")
@yes_option
def delete_role(name: str, yes: bool) -> None:
    """Delete a role; its holders lose it."""
    role = roles.get_role(name)
    confirm(f"Delete role {role.name}? Its holders lose it.", yes)
    roles.delete_role(role)
    click.echo(f"Role {name} deleted.")


@roles_group.command("grant")
@reaches_running_servers
@click.argument("name")
@click.argument("permission")
def grant_permission(name: str, permission: str) -> None:
    """Let role NAME grant PERMISSION."""
    role, granted = roles.get_role(name), permissions.get_permission(permission)
    added = roles.grant_permission(role, granted)
    click.echo(f"Role {name} {'now grants' if added else 'already grants'} {permission}.")


@roles_group.command("revoke")
@reaches_running_servers
@click.argument("name")
@click.argument("permission")
def revoke_permission(name: str, permission: str) -> None:
    """Stop role NAME granting PERMISSION."""
    roles.revoke_permission(roles.get_role(name), permissions.get_permission(permission))
    click.echo(f"Role {name} no longer grants {permission}.")
