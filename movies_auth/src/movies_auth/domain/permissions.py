"""Permissions: the named capabilities roles and users are granted, and the ones every deployment has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from movies_auth.domain import audit, permission_cache
from movies_auth.domain.built_ins import DEFAULT_PERMISSIONS, DEFAULT_ROLES, SUPERUSER_ROLE
from movies_auth.domain.errors import Conflict, NotFound
from movies_auth.extensions import db
from movies_auth.models import Permission, Role
from movies_auth.stores.persistence import commit_unique, find_by_name, save_changes
from movies_auth.stores.read_replica import read_replica


class PermissionNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A permission named {name!r} already exists")


class BuiltIn(Conflict):
    """The default roles and permissions are what the platform relies on: kept under their names."""

    def __init__(self, name: str, what: str = "it cannot be renamed or deleted") -> None:
        super().__init__(f"{name} is built in: {what}")


def refuse_renaming_or_deleting_built_in(name: str, built_in: Iterable[str], changes: dict[str, Any] | None) -> None:
    """409 when `name` is built in and `changes` rename it (or, with no `changes`, it is being deleted)."""
    renamed = changes is None or changes.get("name", name) != name
    if renamed and name in built_in:
        raise BuiltIn(name)


def list_permissions() -> list[Permission]:
    """Every permission, by name (from the read replica, when there is one)."""
    return read_replica.read(lambda session: list(session.scalars(select(Permission).order_by(Permission.name))))


def get_permission(name: str) -> Permission:
    """The permission with this name, or 404."""
    permission = find_by_name(Permission, name)
    if permission is None:
        raise NotFound(f"Permission {name!r} not found")
    return permission


def create_permission(name: str, description: str = "") -> Permission:
    """Create a permission; 409 when the name is taken."""
    permission = Permission(name=name, description=description)
    db.session.add(permission)
    commit_unique(lambda: PermissionNameTaken(name))
    permission_cache.grants_changed()
    audit.record("permission_created", permission=name)
    return permission


def update_permission(permission: Permission, changes: dict[str, Any]) -> Permission:
    """Rename a permission or change its description; 409 when the new name is taken."""
    refuse_renaming_or_deleting_built_in(permission.name, DEFAULT_PERMISSIONS, changes)
    save_changes(permission, changes, lambda: PermissionNameTaken(changes["name"]))
    permission_cache.grants_changed()
    audit.record("permission_updated", permission=permission.name, fields=",".join(sorted(changes)))
    return permission


def delete_permission(permission: Permission) -> None:
    """Delete a permission and every grant of it."""
    refuse_renaming_or_deleting_built_in(permission.name, DEFAULT_PERMISSIONS, None)
    db.session.delete(permission)  # its grants go with it (ON DELETE CASCADE)
    db.session.commit()
    permission_cache.grants_changed()
    audit.record("permission_deleted", warning=True, permission=permission.name)


def seed_defaults() -> list[str]:
    """Create the default permissions and roles that are missing, and give back a default role a default grant
    it lost; returns what was done."""
    created = []
    permissions = {p.name: p for p in db.session.scalars(select(Permission))}
    for name, description in DEFAULT_PERMISSIONS.items():
        if name not in permissions:
            permissions[name] = Permission(name=name, description=description)
            db.session.add(permissions[name])
            created.append(f"permission {name}")
    roles = {r.name: r for r in db.session.scalars(select(Role))}
    for name, (description, granted) in DEFAULT_ROLES.items():
        if name not in roles:
            db.session.add(Role(name=name, description=description, permissions=[permissions[p] for p in granted]))
            created.append(f"role {name}")
            continue
        for permission in granted:
            if permissions[permission] not in roles[name].permissions:
                roles[name].permissions.append(permissions[permission])
                created.append(f"grant of {permission} to role {name}")
    db.session.commit()
    if created:
        permission_cache.grants_changed()
    return created


def superuser_role() -> Role:
    """The superuser role, created (or given back `all_all`) with the other defaults when missing."""
    seed_defaults()
    return db.session.scalars(select(Role).where(Role.name == SUPERUSER_ROLE)).one()
