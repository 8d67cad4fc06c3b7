"""Who may call a view: a valid token of the right kind, and the owner of the account in the URL."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from flask_jwt_extended import get_jwt_identity, jwt_required

from movies_auth.errors import Forbidden
from movies_auth.openapi import TokenKind, may_fail_with, requires_token
from movies_auth.services import accounts
from movies_auth.services.permissions import SUPERUSER_PERMISSION, has_permission


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


def owner_required(view: Callable) -> Callable:
    """Let through the user named by `<user_id>`, or a superuser; the view gets that `user`.

    Anyone else gets 403 whether or not the id exists, so ids cannot be probed.
    """

    @functools.wraps(view)
    def wrapper(user_id: str, **kwargs: Any) -> Any:
        identity = get_jwt_identity()
        if not is_same_user(identity, user_id) and not has_permission(identity, SUPERUSER_PERMISSION):
            raise Forbidden("You may only access your own account")
        return view(user=accounts.get_user(user_id), **kwargs)

    return token_required("access")(may_fail_with(403, 404)(wrapper))
