"""The permissions each user holds, directly or through roles, read through a Redis cache.

Other services ask on every request, so the answer must not cost a database query. Each user's
combined permissions are cached in Redis, stamped with two versions: a global one, bumped by any
role or permission change, and the user's own, bumped by a change to that user's grants. A read
takes both versions and the entry at once, through the process's client-side copy (no round trip
when warm), and trusts the entry only if its stamp matches.

Versions are read before the database, and bumped only after a change commits, so an entry computed
from data a concurrent change made stale always carries an old stamp: the next check recomputes it.
That makes every change visible to the very next check on every worker, with O(1) invalidation.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, select

from movies_auth.domain.built_ins import SUPERUSER_PERMISSION
from movies_auth.domain.conditions import Condition, is_met
from movies_auth.domain.errors import NotFound
from movies_auth.extensions import current_settings, db, redis_store
from movies_auth.models import Permission, User, role_permissions, user_permissions, user_roles
from movies_auth.stores import redis_keys


@dataclass(frozen=True)
class GrantedPermission:
    """A permission as a holder sees it."""

    id: str
    name: str
    description: str


def combined_permissions(user_id: uuid.UUID) -> tuple[GrantedPermission, ...]:
    """The user's own permissions and those of the user's roles, sorted by name; 404 for no such user."""
    return _granted(_cached_entry(user_id))


def permission_names(user_id: uuid.UUID) -> frozenset[str]:
    """The names of the user's combined permissions; 404 for no such user."""
    return _names(_cached_entry(user_id))


# A cached entry's text decoded once per process: the same few users are asked about over and over.
@functools.lru_cache(maxsize=4096)
def _granted(rows_json: str) -> tuple[GrantedPermission, ...]:
    return tuple(GrantedPermission(*row) for row in json.loads(rows_json))


@functools.lru_cache(maxsize=4096)
def _names(rows_json: str) -> frozenset[str]:
    return frozenset(permission.name for permission in _granted(rows_json))


def meets(user_id: uuid.UUID, condition: Condition) -> bool:
    """Whether the user's permissions meet `condition`; a superuser meets every condition."""
    held = permission_names(user_id)
    return SUPERUSER_PERMISSION in held or is_met(condition, held)


def user_grants_changed(user_id: uuid.UUID) -> None:
    """Call after committing a change to one user's roles or direct permissions (or deleting the user)."""
    key = str(user_id)
    pipeline = redis_store.client.pipeline(transaction=False)
    pipeline.incr(redis_keys.user_grants_version(key))
    # The version outlives every entry stamped with it, so it cannot expire back to a value a stale
    # entry still carries.
    pipeline.expire(redis_keys.user_grants_version(key), 2 * _entry_ttl())
    pipeline.delete(redis_keys.user_permissions(key))
    pipeline.execute()


def grants_changed() -> None:
    """Call after committing any change to roles, permissions or what roles grant."""
    redis_store.client.incr(redis_keys.GRANTS_VERSION)


def holders_of(permission_name: str) -> CompoundSelect:
    """The ids of the users holding a permission, directly or through a role."""
    direct = (
        select(user_permissions.c.user_id)
        .join(Permission, Permission.id == user_permissions.c.permission_id)
        .where(Permission.name == permission_name)
    )
    through_role = (
        select(user_roles.c.user_id)
        .join(role_permissions, role_permissions.c.role_id == user_roles.c.role_id)
        .join(Permission, Permission.id == role_permissions.c.permission_id)
        .where(Permission.name == permission_name)
    )
    return direct.union(through_role)


def _cached_entry(user_id: uuid.UUID) -> str:
    """The JSON `[[id, name, description], ...]` of the user's permissions: from the cache, or loaded into it."""
    key = str(user_id)
    global_version, user_version, entry = redis_store.cache.mget(
        redis_keys.GRANTS_VERSION, redis_keys.user_grants_version(key), redis_keys.user_permissions(key)
    )
    stamp = f"{global_version or 0}:{user_version or 0}:"
    if entry is not None and entry.startswith(stamp):
        return entry[len(stamp) :]

    rows = _load(user_id)
    if rows is None:
        raise NotFound("User not found")
    rows_json = json.dumps(rows, separators=(",", ":"))
    redis_store.client.set(redis_keys.user_permissions(key), stamp + rows_json, ex=_entry_ttl())
    return rows_json


def _load(user_id: uuid.UUID) -> list[list[str]] | None:
    # A connection of its own: the request's session may hold a snapshot older than the versions read.
    with db.engine.connect() as connection:
        if connection.scalar(select(User.id).where(User.id == user_id)) is None:
            return None
        granted = (
            select(user_permissions.c.permission_id)
            .where(user_permissions.c.user_id == user_id)
            .union(
                select(role_permissions.c.permission_id)
                .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
                .where(user_roles.c.user_id == user_id)
            )
        )
        rows = connection.execute(
            select(Permission.id, Permission.name, Permission.description)
            .where(Permission.id.in_(granted))
            .order_by(Permission.name)
        )
        return [[str(id_), name, description] for id_, name, description in rows]


def _entry_ttl() -> int:
    return max(1, int(current_settings().permission_cache_ttl.total_seconds()))
