"""Who may make a check: the one rule both the Flask guards and the WSGI fast path (`fast_checks`) apply.

A check is made with a bearer token the caller's guard has already let in. A service may vouch for a
user by sending that user's access token in `X-Subject-Token`; a check on an account (`user_id`) is
for its owner, a holder of `permissions_admin` (superusers meet every condition), or any service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from movies_auth.domain.built_ins import ADMIN_PERMISSION
from movies_auth.domain.conditions import Condition
from movies_auth.domain.tokens import is_service_token

SUBJECT_TOKEN_HEADER = "X-Subject-Token"  # noqa: S105 (a header name)

SUBJECT_FROM_A_USER = f"Only a service may send {SUBJECT_TOKEN_HEADER}"
SUBJECT_OF_ANOTHER_USER = f"The token in {SUBJECT_TOKEN_HEADER} belongs to another user"
NOT_THE_OWNER = "You may only access your own account"

Claims = Mapping[str, Any]
# Whether the user a token's claims name meets a condition on permissions (never true of a service).
Holds = Callable[[Claims, Condition], bool]


def refusal(caller: Claims, *, user_id: str | None, subject: Callable[[], Claims] | None, holds: Holds) -> str | None:
    """Why the check must be refused (a 403's message), or None when it passes.

    `subject` gives the claims of the token sent in `X-Subject-Token` (None when none was sent): it is
    asked only once the caller may send one, and raises for a token that is not a live user access
    token. `holds` is asked last, when neither a service nor the owner settled it.
    """
    if subject is not None:
        if not is_service_token(caller):
            return SUBJECT_FROM_A_USER
        vouched_for = subject()
        if user_id is not None and not is_same_user(vouched_for["sub"], user_id):
            return SUBJECT_OF_ANOTHER_USER
    if user_id is None or may_act_for(caller, user_id, ADMIN_PERMISSION, holds):
        return None
    return NOT_THE_OWNER


def may_act_for(caller: Claims, user_id: str, condition: Condition, holds: Holds) -> bool:
    """Whether a token's holder may act on the account `user_id`: as a service, as its owner, or meeting `condition`."""
    return is_service_token(caller) or is_same_user(caller["sub"], user_id) or holds(caller, condition)


def is_same_user(identity: str, user_id: str) -> bool:
    """Whether a URL's user id names the token's user (any spelling of the same uuid)."""
    try:
        return uuid.UUID(user_id) == uuid.UUID(identity)
    except ValueError:
        return False
