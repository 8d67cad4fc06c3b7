"""Users: registration, and the owner's (or a superuser's) view of an account."""

from __future__ import annotations

from flask import Blueprint

from movies_auth.domain import accounts, login_history, login_throttle
from movies_auth.extensions import current_settings, limiter
from movies_auth.models import User
from movies_auth.observability.request_context import client_ip
from movies_auth.web.guards import callers_session, owner_required
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import (
    LoginHistoryPageSchema,
    PageQuerySchema,
    PasswordChangeSchema,
    RegistrationSchema,
    UserSchema,
    UserUpdateSchema,
)

bp = Blueprint("users", __name__, url_prefix="/auth/api/v1/users")


def user_api_services() -> list[str]:
    """The services allowed to use the user endpoints as an admin would: none unless configured."""
    return current_settings().user_api_services


@bp.post("")
@limiter.limit(lambda: current_settings().register_rate_limit_per_ip, key_func=client_ip, scope="register-ip")
@accepts(RegistrationSchema)
@responds(201, UserSchema, errors=[409, 429])
def register(data: dict) -> User:
    """Register a new account."""
    return accounts.register(**data)


@bp.get("/<user_id>")
@owner_required(services=user_api_services)
@responds(200, UserSchema)
def get_user(user: User) -> User:
    """Read an account."""
    return user


@bp.patch("/<user_id>")
@owner_required(services=user_api_services)
@accepts(UserUpdateSchema)
@responds(200, UserSchema)
def update_user(user: User, data: dict) -> User:
    """Change an account's names; any other field is refused (the email changes by POST /users/{user_id}/email)."""
    return accounts.update_user(user, data)


@bp.delete("/<user_id>")
@owner_required(services=user_api_services)
@responds(204)
def delete_user(user: User) -> None:
    """Delete an account; all its tokens die."""
    accounts.delete_user(user)


@bp.post("/<user_id>/password")
@owner_required(services=user_api_services)
@accepts(PasswordChangeSchema)
@responds(204, errors=[429])
def change_password(user: User, data: dict) -> None:
    """Change the password; every other session of the user dies.

    A wrong old password counts as a failed login of the account.
    """
    succeeded = login_throttle.reserve(user.email)
    accounts.change_password(user, data["old_password"], data["new_password"], keep_session=callers_session(user.id))
    succeeded()


@bp.get("/<user_id>/logins")
@owner_required(services=user_api_services)
@accepts(PageQuerySchema, location="query")
@responds(200, LoginHistoryPageSchema)
def login_history_page(user: User, data: dict) -> login_history.Page:
    """Page through the account's login attempts, newest first."""
    return login_history.page(user, **data)
