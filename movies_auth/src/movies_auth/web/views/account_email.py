"""The account lifecycle by email: verification, password reset and email change (DESIGN §7).

The routes that mail an address answer the same whether or not an account holds it, and are limited per
address (whichever route asks) and per client address, so none of them makes a free mail cannon.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_jwt_extended import get_jwt, get_jwt_identity

from movies_auth.domain import account_email, login_throttle
from movies_auth.domain.errors import BadRequest
from movies_auth.extensions import current_settings, limiter
from movies_auth.models import User
from movies_auth.observability.request_context import client_ip
from movies_auth.web.guards import is_same_user, owner_required
from movies_auth.web.openapi import accepts, responds
from movies_auth.web.schemas import (
    EmailChangeSchema,
    EmailRequestSchema,
    LinkTokenSchema,
    MessageSchema,
    PasswordResetSchema,
    UserSchema,
)

bp = Blueprint("account_email", __name__, url_prefix="/auth/api/v1")

VERIFICATION_QUEUED = "If this address belongs to an account not yet verified, a new link is on its way"
RESET_QUEUED = "If this address belongs to an account, a link to reset its password is on its way"
CHANGE_QUEUED = "A confirmation link is on its way to the new address; the current one gets a notice"
VERIFICATION_ROUTE = f"{bp.url_prefix}/users/email_verification"


def _addressed(field: str):
    """The limiter's key for the address a request body names (a digest); None when it names none."""

    def key() -> str | None:
        body = request.get_json(silent=True)
        value = body.get(field) if isinstance(body, dict) else None
        return login_throttle.account_key(value) if isinstance(value, str) else None

    return key


def _per_address(field: str):
    """One budget per mailed address, shared by every route that mails one (`MAIL_RATE_LIMIT_PER_ADDRESS`)."""
    key = _addressed(field)
    return limiter.shared_limit(
        lambda: current_settings().mail_rate_limit_per_address,
        scope="mail-address",
        key_func=lambda: key() or "-",
        exempt_when=lambda: key() is None,  # the body names no address: refused as invalid below
    )


_per_client = limiter.shared_limit(
    lambda: current_settings().mail_rate_limit_per_ip, scope="mail-ip", key_func=client_ip
)
_confirm_per_client = limiter.shared_limit(
    lambda: current_settings().link_confirm_rate_limit_per_ip, scope="link-confirm-ip", key_func=client_ip
)


@bp.post("/users/email_verification")
@_per_client
@_per_address("email")
@accepts(EmailRequestSchema)
@responds(202, MessageSchema, errors=[429])
def request_verification(data: dict) -> dict:
    """Mail a new verification link.

    Answers the same whether or not an account holds the address, or has verified it already.
    Limited per address (`MAIL_RATE_LIMIT_PER_ADDRESS`) and per client (`MAIL_RATE_LIMIT_PER_IP`).
    """
    account_email.request_verification(data["email"])
    return {"msg": VERIFICATION_QUEUED}


@bp.post("/users/email_verification/confirm")
@_confirm_per_client
@accepts(LinkTokenSchema)
@responds(204, errors=[429])
def confirm_verification(data: dict) -> None:
    """Confirm the email with the token of a verification link; a used, expired or forged token is 400."""
    account_email.confirm_verification(data["token"])


@bp.post("/password_reset")
@_per_client
@_per_address("email")
@accepts(EmailRequestSchema)
@responds(202, MessageSchema, errors=[429])
def request_password_reset(data: dict) -> dict:
    """Mail a link to choose a new password (valid `PASSWORD_RESET_TTL`, once).

    Answers the same, with the same body and cost, whether or not an account holds the address.
    Limited per address (`MAIL_RATE_LIMIT_PER_ADDRESS`) and per client (`MAIL_RATE_LIMIT_PER_IP`).
    """
    account_email.request_password_reset(data["email"])
    return {"msg": RESET_QUEUED}


@bp.post("/password_reset/confirm")
@_confirm_per_client
@accepts(PasswordResetSchema)
@responds(204, errors=[429, 503])
def confirm_password_reset(data: dict) -> None:
    """Set a new password with the token of a reset link; every session of the account ends.

    A used, expired or forged token is 400, and so is a password known from a breach (the link stays usable).
    """
    account_email.confirm_password_reset(data["token"], data["new_password"])


@bp.post("/users/<user_id>/email")
@owner_required
@limiter.limit(
    lambda: current_settings().email_change_rate_limit_per_account, key_func=get_jwt_identity, scope="email-change"
)
@limiter.limit(lambda: current_settings().email_change_rate_limit_per_ip, key_func=client_ip, scope="email-change-ip")
@_per_address("new_email")
@accepts(EmailChangeSchema)
@responds(202, MessageSchema, also={200: UserSchema}, errors=[409, 429])
def change_email(user: User, data: dict) -> tuple[dict | User, int]:
    """Change the account's email: the new address confirms it with a mailed link, the old one gets a notice.

    The owner gives the current password; a wrong one is 400 and counts as a failed login of the account.
    A holder of `all_all` changing another account's email does so at once (200, the user; 409 if taken):
    the new address is then unverified and gets a verification link.
    """
    if not is_same_user(get_jwt()["sub"], str(user.id)):
        return account_email.set_email(user, data["new_email"]), 200
    if "password" not in data:
        raise BadRequest("Invalid input", {"password": ["Missing data for required field."]})
    succeeded = login_throttle.reserve(user.email)
    account_email.request_email_change(user, data["new_email"], data["password"])
    succeeded()
    return {"msg": CHANGE_QUEUED}, 202


@bp.post("/users/email_change/confirm")
@_confirm_per_client
@accepts(LinkTokenSchema)
@responds(204, errors=[409, 429])
def confirm_email_change(data: dict) -> None:
    """Make the email change with the token of the link mailed to the new address; 409 if it was taken since."""
    account_email.confirm_email_change(data["token"])
