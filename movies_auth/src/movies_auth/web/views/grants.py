"""A user's roles and direct permissions (permission admins only)."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.domain import accounts, grants, permissions, roles
from movies_auth.domain.built_ins import ADMIN_PERMISSION
from movies_auth.models import Permission, Role
from movies_auth.web.guards import permissions_required, superuser_required_for
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import GrantSchema, PermissionSchema, RoleSchema

bp = Blueprint("grants", __name__, url_prefix="/auth/api/v1/users")


@bp.get("/<user_id>/roles")
@permissions_required(ADMIN_PERMISSION)
@responds(200, RoleSchema, many=True, errors=[404])
def list_user_roles(user_id: str) -> list[Role]:
    """List a user's roles."""
    return accounts.get_user(user_id).roles


@bp.post("/<user_id>/roles")
@permissions_required(ADMIN_PERMISSION)
@accepts(GrantSchema)
@responds(201, RoleSchema, also=[200], errors=[404])
def grant_user_role(user_id: str, data: dict) -> tuple[Role, int]:
    """Give a user a role: 201 when given, 200 when the user already had it."""
    user, role = accounts.get_user(user_id), roles.get_role(data["name"])
    superuser_required_for(role.permissions)
    return role, 201 if grants.grant_role(user, role) else 200


@bp.delete("/<user_id>/roles/<role>")
@permissions_required(ADMIN_PERMISSION)
@responds(204, errors=[404, 409])
def revoke_user_role(user_id: str, role: str) -> None:
    """Take a role from a user. Refused if nobody would be left holding `all_all`."""
    user, revoked = accounts.get_user(user_id), roles.get_role(role)
    superuser_required_for(revoked.permissions)
    grants.revoke_role(user, revoked)


@bp.get("/<user_id>/permissions")
@permissions_required(ADMIN_PERMISSION)
@responds(200, PermissionSchema, many=True, errors=[404])
def list_user_permissions(user_id: str) -> list[Permission]:
    """List the permissions granted to a user directly (not through roles)."""
    return accounts.get_user(user_id).permissions


@bp.post("/<user_id>/permissions")
@permissions_required(ADMIN_PERMISSION)
@accepts(GrantSchema)
@responds(201, PermissionSchema, also=[200], errors=[404])
def grant_user_permission(user_id: str, data: dict) -> tuple[Permission, int]:
    """Grant a user a permission directly: 201 when granted, 200 when it already was."""
    user, permission = accounts.get_user(user_id), permissions.get_permission(data["name"])
    superuser_required_for([permission])
    return permission, 201 if grants.grant_permission(user, permission) else 200


@bp.delete("/<user_id>/permissions/<permission>")
@permissions_required(ADMIN_PERMISSION)
@responds(204, errors=[404, 409])
def revoke_user_permission(user_id: str, permission: str) -> None:
    """Take a direct permission from a user. Refused if nobody would be left holding `all_all`."""
    user, revoked = accounts.get_user(user_id), permissions.get_permission(permission)
    superuser_required_for([revoked])
    grants.revoke_permission(user, revoked)
