"""Tokens mailed in links: random, single use, short-lived, bound to the account's state, stored only hashed.

A token is 256 random bits; the database keeps its SHA-256 (a slow hash would add nothing to that much
entropy). Using one deletes its row in the transaction of the change it allows, so of two requests that
present it at once, one finds it and the other does not. Each row is also bound to the account's state
(`state_of`): a reset link dies when the password changes another way, a verification link when the
email does.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from movies_auth.domain.errors import BadRequest
from movies_auth.extensions import db
from movies_auth.models import LinkToken, User, utcnow

VERIFY = "verify"
RESET = "reset"
CHANGE = "change"
TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # url-safe base64 of 32 bytes
TOKEN_PATTERN = rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$"
# Links a user may hold at once per purpose (a second request while the first mail is slow must not kill it).
LIVE_TOKENS_KEPT = 3


class InvalidLink(BadRequest):
    """A token that was never issued, was used already, has expired, or no longer matches its account."""

    def __init__(self) -> None:
        super().__init__(
            "This link is invalid, used or expired; ask for a new one",
            {"token": ["Invalid, already used, or expired."]},
        )


def digest(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def state_of(user: User, purpose: str) -> str:
    """A digest of what a token of `purpose` is bound to: the email, and the password for resets and changes."""
    bound = [purpose, user.email] + ([] if purpose == VERIFY else [user.password_hash or ""])
    return hashlib.sha256("\0".join(bound).encode("utf-8", "surrogatepass")).hexdigest()


def issue(user: User, purpose: str, ttl: timedelta, *, new_email: str | None = None) -> str:
    """A new token for `user` (added to the session, committed by the caller); older ones beyond a few are dropped."""
    now = utcnow()
    mine = (LinkToken.user_id == user.id) & (LinkToken.purpose == purpose)
    kept = select(LinkToken.token_hash).where(mine, LinkToken.expires_at > now)
    kept = kept.order_by(LinkToken.created_at.desc()).limit(LIVE_TOKENS_KEPT - 1)
    db.session.execute(delete(LinkToken).where(mine, LinkToken.token_hash.not_in(kept.scalar_subquery())))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(
        LinkToken(
            token_hash=digest(token),
            user_id=user.id,
            purpose=purpose,
            state=state_of(user, purpose),
            new_email=new_email,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def consume(token: str, purpose: str) -> tuple[User, LinkToken]:
    """Use a token up (its deletion commits with the caller's change): its account and row, or `InvalidLink`."""
    statement = delete(LinkToken).where(LinkToken.token_hash == digest(token), LinkToken.purpose == purpose)
    row = db.session.execute(
        statement.returning(LinkToken.user_id, LinkToken.state, LinkToken.new_email, LinkToken.expires_at)
    ).first()
    if row is None or row.expires_at <= utcnow():
        raise InvalidLink()
    user = db.session.get(User, row.user_id)
    if user is None or not secrets.compare_digest(row.state, state_of(user, purpose)):
        raise InvalidLink()
    return user, row


def prune_expired() -> int:
    """Delete the tokens past their life; how many."""
    return db.session.execute(delete(LinkToken).where(LinkToken.expires_at <= utcnow())).rowcount
