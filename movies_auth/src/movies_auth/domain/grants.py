"""What is granted to each user directly: roles and permissions."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, delete

from movies_auth.domain import audit, permission_cache
from movies_auth.domain.errors import NotFound
from movies_auth.domain.superusers import keeping_a_superuser
from movies_auth.extensions import db
from movies_auth.models import Permission, Role, User, user_permissions, user_roles
from movies_auth.stores.persistence import insert_unless_present


def grant_role(user: User, role: Role) -> bool:
    """Give the user a role; False when the user already had it."""
    granted = _grant(user, user_roles, role_id=role.id)
    if granted:
        audit.record("user_role_granted", user_id=user.id, role=role.name)
    return granted


def revoke_role(user: User, role: Role) -> None:
    """Take a role from the user; 404 if the user lacks it, 409 if that would leave no superuser."""
    _revoke(user, user_roles, user_roles.c.role_id == role.id, f"The user does not have role {role.name!r}")
    audit.record("user_role_revoked", warning=True, user_id=user.id, role=role.name)


def grant_permission(user: User, permission: Permission) -> bool:
    """Grant the user a permission directly; False when already granted."""
    granted = _grant(user, user_permissions, permission_id=permission.id)
    if granted:
        audit.record("user_permission_granted", user_id=user.id, permission=permission.name)
    return granted


def revoke_permission(user: User, permission: Permission) -> None:
    """Take a direct permission from the user; 404 if not granted, 409 if that would leave no superuser."""
    _revoke(
        user,
        user_permissions,
        user_permissions.c.permission_id == permission.id,
        f"The user has no direct grant of {permission.name!r}",
    )
    audit.record("user_permission_revoked", warning=True, user_id=user.id, permission=permission.name)


def _grant(user: User, table: Table, **grant: object) -> bool:
    granted = insert_unless_present(table, user_id=user.id, **grant)
    db.session.commit()
    permission_cache.user_grants_changed(user.id)
    return granted


def _revoke(user: User, table: Table, grant: ColumnElement[bool], missing: str) -> None:
    with keeping_a_superuser():
        if not db.session.execute(delete(table).where(table.c.user_id == user.id, grant)).rowcount:
            raise NotFound(missing)
    db.session.commit()
    permission_cache.user_grants_changed(user.id)
