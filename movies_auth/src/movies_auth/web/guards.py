"""Who may call a view: a user's token of the right kind, the account's owner, a holder of permissions, a service.

Every permission decision goes through `access.meets`, which reads the cached permission set, so a
guarded view costs no database query when the cache is warm. Holders of `all_all` pass every check.
Service tokens pass only guards that name their service (or `ANY_SERVICE`); they never log in,
refresh, or reach the admin routes, and they never count as the owner of an account.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Collection, Iterable
from typing import Any

from flask import request
from flask_jwt_extended import get_jwt, jwt_required

from movies_auth.domain import accounts, permission_cache, tokens
from movies_auth.domain.built_ins import ADMIN_PERMISSION, SUPERUSER_PERMISSION
from movies_auth.domain.conditions import Condition, describe
from movies_auth.domain.errors import Forbidden, NotFound
from movies_auth.hotpath.check_rule import SUBJECT_TOKEN_HEADER, Claims, is_same_user, refusal
from movies_auth.hotpath.check_rule import may_act_for as _may_act_for
from movies_auth.hotpath.jwt_manager import verify_remembered_token
from movies_auth.models import Permission
from movies_auth.web.openapi import TokenKind, documents_access, documents_header, may_fail_with, requires_token
from movies_auth.web.view_typing import P, R, SameSignature

# Names no service can have (names start with a letter): "every registered service".
ANY_SERVICE: Collection[str] = ("*",)
NO_SERVICE: Collection[str] = ()
Services = Collection[str] | Callable[[], Collection[str]]

SUBJECT_TOKEN_NOTE = "A service may send a user's access token here to check that token instead of its own."  # noqa: S105


def token_required(kind: TokenKind = "access", *, services: Services = NO_SERVICE) -> SameSignature:
    """Require a valid, unrevoked bearer token: a user's of `kind` ("access", "refresh", or "any" of the
    two), or a service token of one of `services`."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            claims = get_jwt()
            if tokens.is_service_token(claims) and not _lets_in(services, claims):
                raise Forbidden("Service tokens may not use this route")
            return view(*args, **kwargs)

        refresh, verify_type = kind == "refresh", kind != "any"
        verified_in_full = jwt_required(refresh=refresh, verify_type=verify_type)(wrapper)

        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if verify_remembered_token(refresh=refresh, verify_type=verify_type):
                return wrapper(*args, **kwargs)
            return verified_in_full(*args, **kwargs)

        return requires_token(kind, services=services != NO_SERVICE)(guarded)

    return decorator


def service_token_required(*names: str) -> SameSignature:
    """Let through service tokens of the named services only (of any service when none is named)."""
    allowed = names or ANY_SERVICE

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not tokens.is_service_token(get_jwt()):
                raise Forbidden("Only a service may use this route")
            return view(*args, **kwargs)

        note = "Only service tokens" + (f" of {', '.join(names)}." if names else ".")
        return token_required("access", services=allowed)(documents_access(note)(may_fail_with(403)(wrapper)))

    return decorator


def callers_session(user_id: uuid.UUID | str) -> str | None:
    """The caller's own session, when the caller is the account `user_id` itself; None for anyone else."""
    claims = get_jwt()
    return claims[tokens.SESSION_CLAIM] if is_same_user(claims["sub"], str(user_id)) else None


def caller_is_service() -> bool:
    """Whether the current token is a service's."""
    return tokens.is_service_token(get_jwt())


def caller_meets(condition: Condition) -> bool:
    """Whether the user of the current access token meets `condition` (superusers always do; services never)."""
    return holder_meets(get_jwt(), condition)


def holder_meets(claims: Claims, condition: Condition) -> bool:
    """Whether the user a token's claims name meets `condition` (superusers always do; services never)."""
    if tokens.is_service_token(claims):
        return False
    try:
        return permission_cache.meets(uuid.UUID(claims["sub"]), condition)
    except NotFound:  # a token outliving its account holds nothing
        return False


def may_act_for(claims: Claims, user_id: str, condition: Condition) -> bool:
    """Whether a token's holder may act on the account `user_id`: as a service the token guard let in, as the
    account's owner, or as a user meeting `condition`."""
    return _may_act_for(claims, user_id, condition, holder_meets)


def permissions_required(condition: Condition) -> SameSignature:
    """Let through users meeting `condition`: a name, `any_of(...)` or `all_of(...)`; superusers always."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not caller_meets(condition):
                raise Forbidden(f"Permission denied: this needs {describe(condition)}")
            return view(*args, **kwargs)

        note = f"Needs `{describe(condition)}` (holders of `{SUPERUSER_PERMISSION}` always pass)."
        return token_required("access")(documents_access(note)(may_fail_with(403)(wrapper)))

    return decorator


def owner_required(view: Callable | None = None, *, services: Services = NO_SERVICE) -> Callable:
    """Let through the user named by `<user_id>`, a superuser, or one of `services`; the view gets that `user`.

    Anyone else gets 403 whether or not the id exists, so ids cannot be probed.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(user_id: str, **kwargs: Any) -> Any:
            _require_owner_or(user_id, SUPERUSER_PERMISSION)
            return view(user=accounts.get_user(user_id), **kwargs)

        note = f"Only the account's owner, or a holder of `{SUPERUSER_PERMISSION}`" + _services_note(services)
        guarded = documents_access(note)(may_fail_with(403, 404)(wrapper))
        return token_required("access", services=services)(guarded)

    return decorator(view) if view is not None else decorator


def owner_or_admin_required(view: Callable) -> Callable:
    """Let through the user named by `<user_id>`, a permissions admin, or any service; the view gets a UUID.

    A service may vouch for the user with the user's access token in `X-Subject-Token`: that token must
    then be live and belong to this user. Unlike `owner_required` it never loads the account, so a check
    stays free of database queries.
    """

    @functools.wraps(view)
    def wrapper(user_id: str, **kwargs: Any) -> Any:
        require_check(user_id)
        try:
            parsed = uuid.UUID(user_id)
        except ValueError as error:
            raise NotFound("User not found") from error
        return view(user_id=parsed, **kwargs)

    note = f"Only the account's owner, or a holder of `{ADMIN_PERMISSION}` or `{SUPERUSER_PERMISSION}`, or a service."
    guarded = documents_header(SUBJECT_TOKEN_HEADER, SUBJECT_TOKEN_NOTE)(
        documents_access(note)(may_fail_with(403, 404)(wrapper))
    )
    return token_required("access", services=ANY_SERVICE)(guarded)


def require_check(user_id: str | None) -> None:
    """403 unless `check_rule.refusal` lets the caller check a token (`user_id` None) or that account's permissions.

    A token in `X-Subject-Token` is checked like a bearer token (401 or 422 when it is not a live user
    access token), once the caller is known to be a service.
    """
    encoded = request.headers.get(SUBJECT_TOKEN_HEADER)
    subject = None if encoded is None else functools.partial(_verified_subject, encoded)
    reason = refusal(get_jwt(), user_id=user_id, subject=subject, holds=holder_meets)
    if reason is not None:
        raise Forbidden(reason)


def _verified_subject(encoded: str) -> Claims:
    return tokens.verify_user_access_token(encoded, header=SUBJECT_TOKEN_HEADER)


def superuser_required_for(permissions: Iterable[Permission]) -> None:
    """403 unless the caller is a superuser, when `permissions` include `all_all`: only superusers make them."""
    touches_superusers = any(permission.name == SUPERUSER_PERMISSION for permission in permissions)
    if touches_superusers and not caller_meets(SUPERUSER_PERMISSION):
        raise Forbidden(f"Only a holder of {SUPERUSER_PERMISSION} may grant or take away {SUPERUSER_PERMISSION}")


def _lets_in(services: Services, claims: dict[str, Any]) -> bool:
    allowed = services() if callable(services) else services
    return "*" in allowed or claims.get(tokens.SERVICE_NAME_CLAIM) in allowed


def _services_note(services: Services) -> str:
    if services == NO_SERVICE:
        return "."
    if services == ANY_SERVICE:
        return ", or a service."
    return ", or a service allowed to (USER_API_SERVICES)." if callable(services) else f", or {', '.join(services)}."


def _require_owner_or(user_id: str, condition: Condition) -> None:
    if not may_act_for(get_jwt(), user_id, condition):
        raise Forbidden("You may only access your own account")
