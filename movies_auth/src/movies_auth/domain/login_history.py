"""The record of login attempts, and paging through a user's own history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from movies_auth.domain import history_partitions
from movies_auth.extensions import current_settings, db
from movies_auth.models import LoginAttempt, User
from movies_auth.stores.read_replica import read_replica

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Page:
    items: list[LoginAttempt]
    page_number: int
    page_size: int
    total: int


def record(*, user: User | None, email: str, success: bool, ip_address: str | None, user_agent: str | None) -> None:
    """Add an attempt to the session (committed by the caller); unknown accounts are kept by a masked email."""
    history_partitions.make_ahead_now_and_then(db.engine, current_settings().login_history_months_ahead)
    db.session.add(
        LoginAttempt(
            user_id=user.id if user else None,
            email=None if user else masked_email(email),
            success=success,
            ip_address=ip_address,
            user_agent=printable_user_agent(user_agent),
        )
    )


def printable_user_agent(user_agent: str | None) -> str | None:
    """A user agent as stored: printable characters only, cut to the column's length; None when nothing is left."""
    return "".join(char for char in user_agent or "" if char.isprintable())[:USER_AGENT_MAX_LENGTH] or None


def masked_email(email: str) -> str | None:
    """What is kept of an email no account holds: its first character and its domain, `a***@example.com`; nothing
    when it is no address at all (people type their password into the email field)."""
    try:
        address = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{address.local_part[0]}***@{address.domain}"[: LoginAttempt.email.type.length]


def prune_failed(older_than: timedelta) -> int:
    """Delete failed attempts older than `older_than` (successful ones stay with their account); how many."""
    cutoff = datetime.now(UTC) - older_than
    deleted = db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.success.is_(False), LoginAttempt.time < cutoff)
    ).rowcount
    db.session.commit()
    return deleted


@dataclass(frozen=True)
class Pruned:
    months_dropped: list[date]
    attempts_deleted: int


def prune(before: date) -> Pruned:
    """Delete every attempt before `before`: on PostgreSQL whole months by dropping their partitions, the rest
    (a month `before` cuts in two, the default partition, SQLite's one table) row by row."""
    with db.engine.begin() as connection:
        dropped = history_partitions.drop_before(connection, before) if history_partitions.is_partitioned(
            connection
        ) else []  # fmt: skip
        cutoff = datetime.combine(before, datetime.min.time(), UTC)
        deleted = connection.execute(delete(LoginAttempt).where(LoginAttempt.time < cutoff)).rowcount
    return Pruned(dropped, deleted)


def retention_cutoff(retention: timedelta) -> date:
    """The first day of the oldest month a retention keeps whole: every earlier month is older than `retention`."""
    return history_partitions.month_start(datetime.now(UTC) - retention)


def page(user: User, *, page_number: int, page_size: int) -> Page:
    """One page of the user's attempts, newest first (from the read replica, when there is one)."""
    mine = LoginAttempt.user_id == user.id

    def read(session: Session) -> Page:
        total = session.scalar(select(func.count()).select_from(LoginAttempt).where(mine))
        items = session.scalars(
            select(LoginAttempt)
            .where(mine)
            .order_by(LoginAttempt.time.desc(), LoginAttempt.id.desc())
            .limit(page_size)
            .offset((page_number - 1) * page_size)
        ).all()
        return Page(items=list(items), page_number=page_number, page_size=page_size, total=total or 0)

    return read_replica.read(read)
