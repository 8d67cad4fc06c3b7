"""The account lifecycle by email: verify the address, reset a forgotten password, change the address.

Every request naming an address writes the same outbox row whether or not an account holds it (with no
account, a row the sender drops), so the answer, its body and its cost say nothing about the address.
"""

from __future__ import annotations

from movies_auth.domain import accounts, audit, breached_passwords, link_tokens, outbox, tokens
from movies_auth.domain.errors import BadRequest
from movies_auth.domain.passwords import passwords
from movies_auth.extensions import db
from movies_auth.models import User
from movies_auth.stores.persistence import commit_unique


def request_verification(email: str) -> None:
    """Mail a new verification link to `email`, if an account holds it and it is not verified yet."""
    user = accounts.find_by_email(email)
    outbox.enqueue(outbox.VERIFY_EMAIL, email, user if user and not user.email_verified else None)
    _commit_and_wake()


def confirm_verification(token: str) -> None:
    """Mark the account's email verified; `InvalidLink` for a used, expired or forged token."""
    user, _ = link_tokens.consume(token, link_tokens.VERIFY)
    user.email_verified = True
    db.session.commit()
    audit.record("email_verified", user_id=user.id)


def request_password_reset(email: str) -> None:
    """Mail a password-reset link to `email`, if an account holds it."""
    outbox.enqueue(outbox.PASSWORD_RESET, email, accounts.find_by_email(email))
    _commit_and_wake()


def confirm_password_reset(token: str, new_password: str) -> None:
    """Set the new password and end every session of the account; `InvalidLink` for a bad token.

    The token is used up only if the password is accepted: a breached one can be replaced with the same link.
    """
    user, _ = link_tokens.consume(token, link_tokens.RESET)
    breached_passwords.refuse_breached(new_password, "new_password")
    user.password_hash = passwords().hash(new_password)
    user.email_verified = True  # the link reached the address
    db.session.commit()
    tokens.end_every_session(user.id)
    audit.record("password_reset", warning=True, user_id=user.id)


def request_email_change(user: User, new_email: str, password: str) -> None:
    """Mail a confirmation link to `new_email` and a notice to the current address, after checking the password."""
    if not passwords().verify(user.password_hash, password):
        audit.record("email_change_failed", warning=True, user_id=user.id)
        raise BadRequest("Password is incorrect", {"password": ["Does not match the current password."]})
    _refuse_current(user, new_email)
    outbox.enqueue(outbox.EMAIL_CHANGE, new_email, user, new_email=new_email)
    outbox.enqueue(outbox.EMAIL_CHANGE_NOTICE, user.email, user, new_email=new_email)
    _commit_and_wake()
    audit.record("email_change_requested", user_id=user.id)


def set_email(user: User, new_email: str) -> User:
    """An administrator's change, at once: the new address is to be verified, the old one hears of it."""
    _refuse_current(user, new_email)
    old_email = user.email
    user.email, user.email_verified = new_email, False
    outbox.enqueue(outbox.EMAIL_CHANGED, old_email, user, new_email=new_email)
    outbox.enqueue(outbox.VERIFY_EMAIL, new_email, user)
    commit_unique(accounts.EmailTaken)
    outbox.wake()
    audit.record("user_updated", user_id=user.id, fields="email")
    return user


def confirm_email_change(token: str) -> None:
    """Make the change the token was mailed for; `InvalidLink` for a bad token, 409 when the address was taken since."""
    user, issued = link_tokens.consume(token, link_tokens.CHANGE)
    user.email, user.email_verified = issued.new_email, True
    commit_unique(accounts.EmailTaken)
    audit.record("email_changed", warning=True, user_id=user.id)


def _refuse_current(user: User, new_email: str) -> None:
    if new_email == user.email:
        raise BadRequest("This is already the account's email", {"new_email": ["Same as the current email."]})


def _commit_and_wake() -> None:
    db.session.commit()
    outbox.wake()
