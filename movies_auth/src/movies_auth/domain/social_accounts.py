"""Which account a social identity signs in, and linking and unlinking identities (DESIGN §8).

An identity already linked signs in its account. Otherwise an email the provider vouches for that no account
holds makes a new account, without a password. An account that already holds the email is never linked
automatically (whoever controls that provider account would take it over): the person signs in as they usually
do, then links the provider from there.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from movies_auth.domain import accounts, audit, login_history
from movies_auth.domain.errors import BadRequest, Conflict, NotFound
from movies_auth.domain.oauth_providers.identity import Identity
from movies_auth.extensions import db
from movies_auth.models import SocialAccount, User, normalize_email, utcnow

SIGNED_IN, SIGNED_UP = "signed_in", "signed_up"


class EmailHeldByAnotherAccount(Conflict):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"An account with this email already exists. Sign in to it as you usually do, then link {provider} "
            f"from it (GET /auth/api/v1/oauth/{provider}/login?link=true with your access token)"
        )


class EmailNotVouched(BadRequest):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"{provider} did not vouch for an email address: register with a password, then link {provider}"
        )


class IdentityLinkedElsewhere(Conflict):
    def __init__(self, provider: str) -> None:
        super().__init__(f"This {provider} account is already linked to another account")


class ProviderAlreadyLinked(Conflict):
    def __init__(self, provider: str) -> None:
        super().__init__(f"This account is already linked to another {provider} account; unlink it first")


class LastWayToSignIn(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This is the account's last way to sign in: set a password (POST /auth/api/v1/password_reset) "
            "or link another provider first"
        )


def find_identity(provider: str, subject: str) -> SocialAccount | None:
    """The link of this identity, if any account has it."""
    return db.session.scalar(
        select(SocialAccount).where(SocialAccount.provider == provider, SocialAccount.subject == subject)
    )


def sign_in(provider: str, identity: Identity, *, ip_address: str | None, user_agent: str | None) -> tuple[User, str]:
    """The account this identity signs in, made when needed; recorded in login history. 409 for an email held."""
    try:
        return _resolve(provider, identity, ip_address=ip_address, user_agent=user_agent)
    except IntegrityError:
        # A concurrent sign-in of the same identity (or a registration of its email) won: decide again.
        db.session.rollback()
        return _resolve(provider, identity, ip_address=ip_address, user_agent=user_agent)


def _resolve(provider: str, identity: Identity, *, ip_address: str | None, user_agent: str | None) -> tuple[User, str]:
    linked = find_identity(provider, identity.subject)
    if linked is not None:
        user, outcome = db.session.get_one(User, linked.user_id), SIGNED_IN
    else:
        if not identity.email or not identity.email_verified:
            raise EmailNotVouched(provider)
        holder = accounts.find_by_email(identity.email)
        # A concurrent first sign-in of this very identity may have committed the account (and, in the same
        # transaction, its link) between the two reads above: then it is this identity's own account.
        if holder is not None and find_identity(provider, identity.subject) is not None:
            return _resolve(provider, identity, ip_address=ip_address, user_agent=user_agent)
        if holder is not None:
            login_history.record(
                user=holder, email=holder.email, success=False, ip_address=ip_address, user_agent=user_agent
            )
            db.session.commit()
            audit.record("social_sign_in_refused", warning=True, user_id=holder.id, provider=provider, ip=ip_address)
            raise EmailHeldByAnotherAccount(provider)
        user, outcome = _new_account(provider, identity, identity.email), SIGNED_UP
    login_history.record(user=user, email=user.email, success=True, ip_address=ip_address, user_agent=user_agent)
    db.session.commit()
    if outcome == SIGNED_UP:
        audit.record("user_registered", user_id=user.id, provider=provider)
    audit.record("login_succeeded", user_id=user.id, ip=ip_address, method=f"oauth:{provider}")
    return user, outcome


def _new_account(provider: str, identity: Identity, email: str) -> User:
    user = User(
        id=uuid.uuid4(),
        email=normalize_email(email),
        password_hash=None,
        first_name=identity.first_name,
        last_name=identity.last_name,
        email_verified=True,
    )
    db.session.add(user)
    db.session.flush()  # the account's row first: the link refers to it
    db.session.add(_link_record(user.id, provider, identity))
    db.session.flush()
    return user


def _link_record(user_id: uuid.UUID, provider: str, identity: Identity) -> SocialAccount:
    email = normalize_email(identity.email) if identity.email else None
    return SocialAccount(user_id=user_id, provider=provider, subject=identity.subject, email=email, linked_at=utcnow())


def link(user_id: str, provider: str, identity: Identity) -> SocialAccount:
    """Link the identity to the account (the owner asked, signed in); 409 when either side is linked elsewhere."""
    user = accounts.get_user(user_id)
    linked = find_identity(provider, identity.subject)
    if linked is not None:
        if linked.user_id != user.id:
            raise IdentityLinkedElsewhere(provider)
        return linked
    if _of(user.id, provider) is not None:
        raise ProviderAlreadyLinked(provider)
    record = _link_record(user.id, provider, identity)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise IdentityLinkedElsewhere(provider) from error
    audit.record("social_account_linked", user_id=user.id, provider=provider)
    return record


def linked_to(user: User) -> list[SocialAccount]:
    """The identities linked to the account, by provider."""
    return list(
        db.session.scalars(
            select(SocialAccount).where(SocialAccount.user_id == user.id).order_by(SocialAccount.provider)
        )
    )


def unlink(user: User, provider: str) -> None:
    """Unlink the account's identity at `provider`; 404 if none, 409 if it is the last way to sign in."""
    # Two unlinks at once must not each leave the other as the last way in. They take turns: on PostgreSQL on the
    # account's row, locked here; on SQLite (no row locks) at the delete, as its writers do, and the count below
    # then reads what the other committed. A statement, not the ORM's delete, so a row gone meanwhile is a 404.
    db.session.refresh(user, with_for_update=True)
    unlinked = db.session.execute(
        delete(SocialAccount)
        .where(SocialAccount.user_id == user.id, SocialAccount.provider == provider)
        .returning(SocialAccount.id)
    ).first()
    if unlinked is None:
        db.session.rollback()
        raise NotFound(f"No {provider} account is linked")
    left = db.session.scalar(select(func.count()).select_from(SocialAccount).where(SocialAccount.user_id == user.id))
    if user.password_hash is None and not left:
        db.session.rollback()
        raise LastWayToSignIn()
    db.session.commit()
    audit.record("social_account_unlinked", warning=True, user_id=user.id, provider=provider)


def _of(user_id: uuid.UUID, provider: str) -> SocialAccount | None:
    return db.session.scalar(
        select(SocialAccount).where(SocialAccount.user_id == user_id, SocialAccount.provider == provider)
    )
