"""The record of login attempts, and paging through a user's own history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from movies_auth.extensions import db
from movies_auth.models import LoginAttempt, User

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Page:
    items: list[LoginAttempt]
    page_number: int
    page_size: int
    total: int


def record(*, user: User | None, email: str, success: bool, ip_address: str | None, user_agent: str | None) -> None:
    """Add an attempt to the session (committed by the caller); unknown accounts are kept by email."""
    db.session.add(
        LoginAttempt(
            user_id=user.id if user else None,
            email=None if user else email[: LoginAttempt.email.type.length],
            success=success,
            ip_address=ip_address,
            user_agent=printable_user_agent(user_agent),
        )
    )


def printable_user_agent(user_agent: str | None) -> str | None:
    """A user agent as stored: printable characters only, cut to the column's length; None when nothing is left."""
    return "".join(char for char in user_agent or "" if char.isprintable())[:USER_AGENT_MAX_LENGTH] or None


def page(user: User, *, page_number: int, page_size: int) -> Page:
    """One page of the user's attempts, newest first."""
    mine = LoginAttempt.user_id == user.id
    total = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(mine))
    items = db.session.scalars(
        select(LoginAttempt)
        .where(mine)
        .order_by(LoginAttempt.time.desc(), LoginAttempt.id.desc())
        .limit(page_size)
        .offset((page_number - 1) * page_size)
    ).all()
    return Page(items=list(items), page_number=page_number, page_size=page_size, total=total or 0)
