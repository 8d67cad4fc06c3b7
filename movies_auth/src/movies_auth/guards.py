"""Who may call a view: a valid token of the right kind, the account's owner, or a holder of permissions.

Every permission decision goes through `access.meets`, which reads the cached permission set, so a
guarded view costs no database query when the cache is warm. Holders of `all_all` pass every check.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask_jwt_extended import get_jwt_identity, jwt_required

from movies_auth.conditions import Condition, describe
from movies_auth.errors import Forbidden, NotFound
from movies_auth.models import Permission
from movies_auth.openapi import TokenKind, documents_access, may_fail_with, requires_token
from movies_auth.services import access, accounts
from movies_auth.services.access import SUPERUSER_PERMISSION
from movies_auth.services.permissions import ADMIN_PERMISSION


def token_required(kind: TokenKind = "access") -> Callable:
    """Require a valid, unrevoked bearer token of `kind` ("access", "refresh", or "any" of the two)."""

    def decorator(view: Callable) -> Callable:
        return requires_token(kind)(jwt_required(refresh=kind == "refresh", verify_type=kind != "any")(view))

    return decorator


def is_same_user(identity: str, user_id: str) -> bool:
    """Whether a URL's user id names the token's user (any spelling of the same uuid)."""
    try:
        return uuid.UUID(user_id) == uuid.UUID(identity)
    except ValueError:
        return False


def caller_meets(condition: Condition) -> bool:
    """Whether the user of the current access token meets `condition` (superusers always do)."""
    try:
        return access.meets(uuid.UUID(get_jwt_identity()), condition)
    except NotFound:  # a token outliving its account holds nothing
        return False


def permissions_required(condition: Condition) -> Callable:
    """Let through callers meeting `condition`: a name, `any_of(...)` or `all_of(...)`; superusers always."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not caller_meets(condition):
                raise Forbidden(f"Permission denied: this needs {describe(condition)}")
            return view(*args, **kwargs)

        note = f"Needs `{describe(condition)}` (holders of `{SUPERUSER_PERMISSION}` always pass)."
        return token_required("access")(documents_access(note)(may_fail_with(403)(wrapper)))

    return decorator


def owner_required(view: Callable) -> Callable:
    """Let through the user named by `<user_id>`, or a superuser; the view gets that `user`.

    Anyone else gets 403 whether or not the id exists, so ids cannot be probed.
    """

    @functools.wraps(view)
    def wrapper(user_id: str, **kwargs: Any) -> Any:
        _require_owner_or(user_id, SUPERUSER_PERMISSION)
        return view(user=accounts.get_user(user_id), **kwargs)

    note = f"Only the account's owner, or a holder of `{SUPERUSER_PERMISSION}`."
    return token_required("access")(documents_access(note)(may_fail_with(403, 404)(wrapper)))


def owner_or_admin_required(view: Callable) -> Callable:
    """Let through the user named by `<user_id>`, or a permissions admin; the view gets `user_id` as a UUID.

    Unlike `owner_required` it never loads the account, so a check stays free of database queries.
    """

    @functools.wraps(view)
    def wrapper(user_id: str, **kwargs: Any) -> Any:
        _require_owner_or(user_id, ADMIN_PERMISSION)
        try:
            parsed = uuid.UUID(user_id)
        except ValueError as error:
            raise NotFound("User not found") from error
        return view(user_id=parsed, **kwargs)

    note = f"Only the account's owner, or a holder of `{ADMIN_PERMISSION}` or `{SUPERUSER_PERMISSION}`."
    return token_required("access")(documents_access(note)(may_fail_with(403, 404)(wrapper)))


def superuser_required_for(permissions: Iterable[Permission]) -> None:
    """403 unless the caller is a superuser, when `permissions` include `all_all`: only superusers make them."""
    touches_superusers = any(permission.name == SUPERUSER_PERMISSION for permission in permissions)
    if touches_superusers and not caller_meets(SUPERUSER_PERMISSION):
        raise Forbidden(f"Only a holder of {SUPERUSER_PERMISSION} may grant or take away {SUPERUSER_PERMISSION}")


def _require_owner_or(user_id: str, condition: Condition) -> None:
    if not is_same_user(get_jwt_identity(), user_id) and not caller_meets(condition):
        raise Forbidden("You may only access your own account")
