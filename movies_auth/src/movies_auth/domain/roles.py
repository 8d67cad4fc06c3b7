"""Roles: named sets of permissions, and what each role grants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from movies_auth.domain import audit, permission_cache
from movies_auth.domain.built_ins import DEFAULT_ROLES
from movies_auth.domain.errors import Conflict, NotFound
from movies_auth.domain.permissions import BuiltIn, refuse_renaming_or_deleting_built_in
from movies_auth.domain.superusers import keeping_a_superuser
from movies_auth.extensions import db
from movies_auth.models import Permission, Role, role_permissions
from movies_auth.stores.persistence import commit_unique, find_by_name, insert_unless_present, save_changes
from movies_auth.stores.read_replica import read_replica


class RoleNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A role named {name!r} already exists")


def list_roles() -> list[Role]:
    """Every role with its permissions, by name (from the read replica, when there is one)."""
    query = select(Role).options(selectinload(Role.permissions)).order_by(Role.name)
    return read_replica.read(lambda session: list(session.scalars(query)))


def get_role(name: str) -> Role:
    """The role with this name, or 404."""
    role = find_by_name(Role, name)
    if role is None:
        raise NotFound(f"Role {name!r} not found")
    return role


def create_role(name: str, description: str = "", permissions: Iterable[Permission] = ()) -> Role:
    """Create a role granting `permissions`; 409 when the name is taken."""
    role = Role(name=name, description=description, permissions=list(permissions))
    db.session.add(role)
    commit_unique(lambda: RoleNameTaken(name))
    permission_cache.grants_changed()
    audit.record("role_created", role=name, permissions=",".join(p.name for p in role.permissions))
    return role


def update_role(role: Role, changes: dict[str, Any]) -> Role:
    """Rename a role or change its description; 409 when the new name is taken or the role is built in."""
    refuse_renaming_or_deleting_built_in(role.name, DEFAULT_ROLES, changes)
    save_changes(role, changes, lambda: RoleNameTaken(changes["name"]))
    permission_cache.grants_changed()
    audit.record("role_updated", role=role.name, fields=",".join(sorted(changes)))
    return role


def delete_role(role: Role) -> None:
    """Delete a role; its holders lose it. 409 if it is built in or that would leave no superuser."""
    refuse_renaming_or_deleting_built_in(role.name, DEFAULT_ROLES, None)
    with keeping_a_superuser():
        db.session.delete(role)  # its grants go with it (ON DELETE CASCADE)
    db.session.commit()
    permission_cache.grants_changed()
    audit.record("role_deleted", warning=True, role=role.name)


def grant_permission(role: Role, permission: Permission) -> bool:
    """Let the role grant a permission; False when it already did."""
    granted = insert_unless_present(role_permissions, role_id=role.id, permission_id=permission.id)
    db.session.commit()
    permission_cache.grants_changed()
    if granted:
        audit.record("role_permission_granted", role=role.name, permission=permission.name)
    return granted


def revoke_permission(role: Role, permission: Permission) -> None:
    """Stop the role granting a permission; 404 if it does not, 409 if the grant is built in or that would leave
    no superuser."""
    if permission.name in DEFAULT_ROLES.get(role.name, ("", ()))[1]:
        raise BuiltIn(f"role {role.name}'s grant of {permission.name}", "it cannot be revoked")
    with keeping_a_superuser():
        revoked = db.session.execute(
            delete(role_permissions).where(
                role_permissions.c.role_id == role.id, role_permissions.c.permission_id == permission.id
            )
        ).rowcount
        if not revoked:
            raise NotFound(f"Role {role.name!r} does not grant {permission.name!r}")
    db.session.commit()
    permission_cache.grants_changed()
    audit.record("role_permission_revoked", warning=True, role=role.name, permission=permission.name)
