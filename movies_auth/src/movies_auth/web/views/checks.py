"""Permission checks: what a user may do, asked by other services on every request."""

from __future__ import annotations

import uuid

from flask import Blueprint

from movies_auth.domain import permission_cache
from movies_auth.observability import metrics
from movies_auth.web.guards import owner_or_admin_required
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import PermissionCheckQuerySchema, PermissionCheckSchema, PermissionSchema

bp = Blueprint("checks", __name__, url_prefix="/auth/api/v1/users")


@bp.get("/<user_id>/combined_permissions")
@owner_or_admin_required
@responds(200, PermissionSchema, many=True)
def combined_permissions(user_id: uuid.UUID) -> tuple[permission_cache.GrantedPermission, ...]:
    """List the user's permissions: their own and their roles', by name. Served from cache."""
    return permission_cache.combined_permissions(user_id)


@bp.get("/<user_id>/combined_permissions/validation")
@owner_or_admin_required
@accepts(PermissionCheckQuerySchema, location="query")
@responds(200, PermissionCheckSchema)
def validate(user_id: uuid.UUID, data: dict) -> dict:
    """Check whether the user meets a condition on permissions; holders of `all_all` always do.

    Served from cache: no database query when warm, and a grant change shows in the very next check.
    """
    valid = permission_cache.meets(user_id, data["permissions"])
    metrics.count_permission_verdict(valid)
    return {"valid": valid}
