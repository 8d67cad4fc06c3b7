"""User accounts: registration, authentication, profile changes, password changes and deletion."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from movies_auth.domain import audit, breached_passwords, login_history, outbox, permission_cache, tokens
from movies_auth.domain.errors import BadRequest, Conflict, NotFound
from movies_auth.domain.passwords import passwords
from movies_auth.domain.superusers import keeping_a_superuser
from movies_auth.extensions import db
from movies_auth.models import Role, User, normalize_email
from movies_auth.stores.persistence import commit_unique, save_changes
from movies_auth.stores.read_replica import read_replica


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("A user with this email already exists")


def find_by_email(email: str) -> User | None:
    """The user with this email (any case), if there is one."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def get_user(user_id: uuid.UUID | str) -> User:
    """The user with this id, or 404."""
    try:
        user = db.session.get(User, uuid.UUID(str(user_id)))
    except ValueError:
        user = None
    if user is None:
        raise NotFound("User not found")
    return user


def register(
    email: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    *,
    roles: Iterable[Role] = (),
    verified: bool = False,
) -> User:
    """Create an account and queue its verification mail (unless `verified` already, as an operator vouches);
    409 when the email is taken, even by a concurrent registration."""
    breached_passwords.refuse_breached(password, "password")
    user = User(
        id=uuid.uuid4(),  # now, for the outbox row queued with it
        email=normalize_email(email),
        password_hash=passwords().hash(password),
        first_name=first_name,
        last_name=last_name,
        email_verified=verified,
        roles=list(roles),
    )
    db.session.add(user)
    if not verified:
        outbox.enqueue(outbox.VERIFY_EMAIL, user.email, user)
    commit_unique(EmailTaken)
    outbox.wake()
    audit.record("user_registered", user_id=user.id)
    return user


def authenticate(email: str, password: str, *, ip_address: str | None, user_agent: str | None) -> User | None:
    """The user these credentials belong to, or None; every attempt is recorded, and costs one hash."""
    email = normalize_email(email)
    user = find_by_email(email)
    valid = passwords().verify(user.password_hash if user else None, password)
    if valid and user is not None and user.password_hash and passwords().needs_rehash(user.password_hash):
        user.password_hash = passwords().hash(password)
    login_history.record(user=user, email=email, success=valid, ip_address=ip_address, user_agent=user_agent)
    db.session.commit()
    if not valid:
        audit.record("login_failed", warning=True, user_id=user.id if user else None, ip=ip_address)
        return None
    audit.record("login_succeeded", user_id=user.id, ip=ip_address)
    return user


def update_user(user: User, changes: dict[str, Any]) -> User:
    """Apply a validated partial update of the names (the email changes through `account_email`)."""
    save_changes(user, changes, EmailTaken)
    audit.record("user_updated", user_id=user.id, fields=",".join(sorted(changes)))
    return user


def change_password(user: User, old_password: str, new_password: str, *, keep_session: str | None) -> None:
    """Replace the password after checking the old one; every other session of the user dies."""
    if not passwords().verify(user.password_hash, old_password):
        audit.record("password_change_failed", warning=True, user_id=user.id)
        raise BadRequest("Old password is incorrect", {"old_password": ["Does not match the current password."]})
    breached_passwords.refuse_breached(new_password, "new_password")
    user.password_hash = passwords().hash(new_password)
    db.session.commit()
    tokens.end_every_session(user.id, except_session=keep_session)
    audit.record("password_changed", user_id=user.id)


def delete_user(user: User) -> None:
    """Delete the account and kill all its tokens; 409 if it is the last superuser."""
    user_id = user.id
    with keeping_a_superuser():
        db.session.delete(user)
    # Tokens die before the commit: should the commit fail, the account stays but none of its tokens live on.
    tokens.revoke_all_sessions(user_id)
    db.session.commit()
    permission_cache.user_grants_changed(user_id)
    audit.record("user_deleted", warning=True, user_id=user_id)


def search(
    *, email: str | None = None, role: str | None = None, permission: str | None = None, limit: int, offset: int = 0
) -> tuple[list[User], int]:
    """Users whose email contains `email`, having `role`, holding `permission`; a page of them and the total."""
    query = select(User)
    if email:
        query = query.where(User.email.contains(normalize_email(email), autoescape=True))
    if role:
        query = query.where(User.roles.any(Role.name == role))
    if permission:
        query = query.where(User.id.in_(permission_cache.holders_of(permission)))
    page = query.options(selectinload(User.roles)).order_by(User.email).limit(limit).offset(offset)

    def read(session: Session) -> tuple[list[User], int]:
        return list(session.scalars(page)), session.scalar(select(func.count()).select_from(query.subquery()))

    return read_replica.read(read)
