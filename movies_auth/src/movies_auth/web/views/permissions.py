"""Permissions: list, create, read, rename and delete the named capabilities (permission admins only)."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.domain import permissions
from movies_auth.domain.built_ins import ADMIN_PERMISSION
from movies_auth.models import Permission
from movies_auth.web.guards import permissions_required
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import PermissionSchema, PermissionUpdateSchema

bp = Blueprint("permissions", __name__, url_prefix="/auth/api/v1/permissions")


@bp.get("")
@permissions_required(ADMIN_PERMISSION)
@responds(200, PermissionSchema, many=True)
def list_permissions() -> list[Permission]:
    """List every permission, by name."""
    return permissions.list_permissions()


@bp.post("")
@permissions_required(ADMIN_PERMISSION)
@accepts(PermissionSchema)
@responds(201, PermissionSchema, errors=[409])
def create_permission(data: dict) -> Permission:
    """Create a permission."""
    return permissions.create_permission(**data)


@bp.get("/<name>")
@permissions_required(ADMIN_PERMISSION)
@responds(200, PermissionSchema, errors=[404])
def get_permission(name: str) -> Permission:
    """Read a permission."""
    return permissions.get_permission(name)


@bp.patch("/<name>")
@permissions_required(ADMIN_PERMISSION)
@accepts(PermissionUpdateSchema)
@responds(200, PermissionSchema, errors=[404, 409])
def update_permission(name: str, data: dict) -> Permission:
    """Rename a permission or change its description; `all_all` keeps its name."""
    return permissions.update_permission(permissions.get_permission(name), data)


@bp.delete("/<name>")
@permissions_required(ADMIN_PERMISSION)
@responds(204, errors=[404, 409])
def delete_permission(name: str) -> None:
    """Delete a permission; every role and user granted it loses it. `all_all` cannot be deleted."""
    permissions.delete_permission(permissions.get_permission(name))
