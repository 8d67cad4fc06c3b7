"""Who holds which permission, and the roles and permissions every deployment starts with."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select

from movies_auth.extensions import db
from movies_auth.models import Permission, Role, role_permissions, user_permissions, user_roles

SUPERUSER_PERMISSION = "all_all"
SUPERUSER_ROLE = "superuser"

DEFAULT_PERMISSIONS = {
    SUPERUSER_PERMISSION: "Every permission (superuser)",
    "permissions_admin": "Manage roles, permissions and grants",
    "pro_read": "Watch every film, whatever its rating",
}
DEFAULT_ROLES = {
    SUPERUSER_ROLE: ("Administrators of the whole platform", [SUPERUSER_PERMISSION]),
    "subscriber": ("Paying subscribers", ["pro_read"]),
}


def has_permission(user_id: uuid.UUID | str, name: str) -> bool:
    """Whether the user holds the permission directly or through one of their roles."""
    user_id = uuid.UUID(str(user_id))
    direct = (
        select(user_permissions.c.user_id)
        .join(Permission, Permission.id == user_permissions.c.permission_id)
        .where(user_permissions.c.user_id == user_id, Permission.name == name)
    )
    through_role = (
        select(user_roles.c.user_id)
        .join(role_permissions, role_permissions.c.role_id == user_roles.c.role_id)
        .join(Permission, Permission.id == role_permissions.c.permission_id)
        .where(user_roles.c.user_id == user_id, Permission.name == name)
    )
    return bool(db.session.scalar(select(exists(direct) | exists(through_role))))


def seed_defaults() -> list[str]:
    """Create the default permissions and roles that are missing; returns what was created."""
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
    db.session.commit()
    return created


def superuser_role() -> Role:
    """The superuser role, created with the other defaults when missing."""
    seed_defaults()
    return db.session.scalar(select(Role).where(Role.name == SUPERUSER_ROLE))
