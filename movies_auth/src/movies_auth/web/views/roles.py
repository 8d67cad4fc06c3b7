"""Roles: list, create, read, rename and delete them, and manage what each grants (permission admins only)."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.domain import permissions, roles
from movies_auth.domain.built_ins import ADMIN_PERMISSION
from movies_auth.models import Permission, Role
from movies_auth.web.guards import permissions_required, superuser_required_for
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import GrantSchema, PermissionSchema, RoleSchema, RoleUpdateSchema

bp = Blueprint("roles", __name__, url_prefix="/auth/api/v1/roles")


@bp.get("")
@permissions_required(ADMIN_PERMISSION)
@responds(200, RoleSchema, many=True)
def list_roles() -> list[Role]:
    """List every role with its permissions, by name."""
    return roles.list_roles()


@bp.post("")
@permissions_required(ADMIN_PERMISSION)
@accepts(RoleSchema)
@responds(201, RoleSchema, errors=[409])
def create_role(data: dict) -> Role:
    """Create a role; grant it permissions with `POST /roles/{name}/permissions`."""
    return roles.create_role(**data)


@bp.get("/<name>")
@permissions_required(ADMIN_PERMISSION)
@responds(200, RoleSchema, errors=[404])
def get_role(name: str) -> Role:
    """Read a role and its permissions."""
    return roles.get_role(name)


@bp.patch("/<name>")
@permissions_required(ADMIN_PERMISSION)
@accepts(RoleUpdateSchema)
@responds(200, RoleSchema, errors=[404, 409])
def update_role(name: str, data: dict) -> Role:
    """Rename a role or change its description."""
    return roles.update_role(roles.get_role(name), data)


@bp.delete("/<name>")
@permissions_required(ADMIN_PERMISSION)
@responds(204, errors=[404, 409])
def delete_role(name: str) -> None:
    """Delete a role; its holders lose it. Refused if nobody would be left holding `all_all`."""
    role = roles.get_role(name)
    superuser_required_for(role.permissions)
    roles.delete_role(role)


@bp.get("/<name>/permissions")
@permissions_required(ADMIN_PERMISSION)
@responds(200, PermissionSchema, many=True, errors=[404])
def list_role_permissions(name: str) -> list[Permission]:
    """List the permissions a role grants."""
    return roles.get_role(name).permissions


@bp.post("/<name>/permissions")
@permissions_required(ADMIN_PERMISSION)
@accepts(GrantSchema)
@responds(201, PermissionSchema, also=[200], errors=[404])
def grant_role_permission(name: str, data: dict) -> tuple[Permission, int]:
    """Let a role grant a permission: 201 when added, 200 when it already did."""
    role, permission = roles.get_role(name), permissions.get_permission(data["name"])
    superuser_required_for([permission])
    return permission, 201 if roles.grant_permission(role, permission) else 200


@bp.delete("/<name>/permissions/<permission>")
@permissions_required(ADMIN_PERMISSION)
@responds(204, errors=[404, 409])
def revoke_role_permission(name: str, permission: str) -> None:
    """Stop a role granting a permission. Refused if nobody would be left holding `all_all`."""
    role, revoked = roles.get_role(name), permissions.get_permission(permission)
    superuser_required_for([revoked])
    roles.revoke_permission(role, revoked)
