"""Database models: users, their login history and sessions, roles and permissions."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from movies_auth.extensions import db

EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 100

# Role and permission names appear in URLs and in the conditions other services send, so they are
# restricted to one unambiguous, URL-safe spelling.
CODE_NAME_MAX_LENGTH = 64
CODE_NAME = re.compile(rf"^[a-z][a-z0-9_.:-]{{0,{CODE_NAME_MAX_LENGTH - 1}}}$")
CODE_NAME_RULE = "1 to 64 lower-case letters, digits, '_', '-', '.' or ':', starting with a letter"
DESCRIPTION_MAX_LENGTH = 255
# 128 random bits, url-safe base64; `password` or `oauth:<provider>`.
SESSION_ID_LENGTH = 22
SESSION_ID_PATTERN = rf"^[A-Za-z0-9_-]{{{SESSION_ID_LENGTH}}}$"
SIGN_IN_METHOD_MAX_LENGTH = 64


def normalize_email(email: str) -> str:
    """The one form emails are stored and looked up in (NFC, lower case), as `users.email` requires."""
    return unicodedata.normalize("NFC", email.strip()).lower()


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always returned timezone-aware in UTC (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _association(name: str, left: str, right: str) -> Table:
    """A many-to-many table whose rows disappear with either side."""
    return Table(
        name,
        db.metadata,
        Column(f"{left}_id", ForeignKey(f"{left}s.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{right}_id", ForeignKey(f"{right}s.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


role_permissions = _association("role_permissions", "role", "permission")
user_roles = _association("user_roles", "user", "role")
user_permissions = _association("user_permissions", "user", "permission")


class Permission(db.Model):
    """A named capability, granted to roles or directly to users."""

    __tablename__ = "permissions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(CODE_NAME_MAX_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH), default="")


class Role(db.Model):
    """A named set of permissions."""

    __tablename__ = "roles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(CODE_NAME_MAX_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH), default="")
    permissions: Mapped[list[Permission]] = relationship(secondary=role_permissions, order_by=Permission.name)


class User(db.Model):
    """An account. The email is stored lower-cased, so uniqueness is case-insensitive in the database."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    # None for an account made by a social sign-in: no password logs it in until one is set by a reset link.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    last_name: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, order_by=Role.name)
    permissions: Mapped[list[Permission]] = relationship(secondary=user_permissions, order_by=Permission.name)


class LoginAttempt(db.Model):
    """One login attempt, successful or not; `email` is kept only when it matched no account."""

    __tablename__ = "login_history"
    # On PostgreSQL a table partitioned by month (domain/history_partitions.py); its primary key must hold
    # the partition key. SQLite keeps one plain table.
    __table_args__ = (
        Index("ix_login_history_user_id_time", "user_id", "time"),
        {"postgresql_partition_by": "RANGE (time)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    time: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    success: Mapped[bool] = mapped_column(Boolean)


class ServiceAccount(db.Model):
    """Another service of the platform, which trades its name and secret for short-lived service tokens."""

    __tablename__ = "service_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(CODE_NAME_MAX_LENGTH), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    secret_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserSession(db.Model):
    """What is known of one sign-in for the device list; its liveness and last use are kept in Redis.

    Written once at sign-in and deleted when the session ends, so it never grows with refreshes.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    method: Mapped[str] = mapped_column(String(SIGN_IN_METHOD_MAX_LENGTH))


PROVIDER_NAME_MAX_LENGTH = 32
SUBJECT_MAX_LENGTH = 255


class SocialAccount(db.Model):
    """An identity at a social provider linked to an account: at most one per provider, each to one account.

    `subject` is the provider's stable id of the person (OIDC `sub`, Yandex `id`, VK `user_id`), never an
    email, which the person may change or lose there.
    """

    __tablename__ = "social_accounts"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_social_accounts_provider_subject"),
        UniqueConstraint("user_id", "provider", name="uq_social_accounts_user_id_provider"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(PROVIDER_NAME_MAX_LENGTH))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkToken(db.Model):
    """A token mailed in a link (verify, reset, change the email): only its SHA-256 is kept, and only until used.

    `state` is a digest of what the token was issued against (the account's email, and its password hash for
    a reset or an email change): when that changes another way, the token no longer matches and is refused.
    """

    __tablename__ = "link_tokens"
    __table_args__ = (Index("ix_link_tokens_user_id_purpose", "user_id", "purpose"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(64))
    new_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class OutboxMail(db.Model):
    """A mail to deliver: written in the transaction of the change that asks for it, deleted once delivered.

    A row names what to send, not the mail itself: the sender mints the link's token and renders the mail
    when it delivers, so no token is ever stored in clear. `user_id` is empty when the address named no
    account; the sender then drops the row, so such a request writes exactly what a known one writes.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    new_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # So that a row queued with a new account is written after it.
    user: Mapped[User | None] = relationship()
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
