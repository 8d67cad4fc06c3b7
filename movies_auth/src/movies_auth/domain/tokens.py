"""Tokens: issue, rotate and revoke them, and the revocation check every request makes.

A user's tokens name their session (`sid`); a refresh token also names the session's generation
(`gen`) it was minted for. A token is alive while its session is (`sessions`), so the check every
request makes reads two keys, both kept in each process by the client-side cache:

- the session's record: deleting it ends one session (logout, refresh re-use, eviction);
- the user's token epoch: raising it ends every session started before it (logout everywhere,
  password change, deletion), O(1) whatever the user did before. Sessions carry the epoch they
  started under, not a timestamp, so one started earlier in the same second dies too and one
  started right after lives. Password changes name the one session that survives them.

Services have no sessions: their tokens carry the service's epoch (`ep`) and die by its raise.
Every key lives at least as long as the longest-lived token it can kill.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException

from movies_auth.domain import audit, sessions
from movies_auth.domain.errors import DomainError, Unauthorized
from movies_auth.extensions import current_settings, db, redis_store
from movies_auth.models import User
from movies_auth.observability import metrics
from movies_auth.stores import redis_keys
from movies_auth.stores.redis_scripts import RedisScript

SESSION_CLAIM = "sid"
GENERATION_CLAIM = "gen"
EPOCH_CLAIM = "ep"
TYPE_CLAIM = "type"
SERVICE_TOKEN_TYPE = "service"  # noqa: S105 (a token type)
SERVICE_NAME_CLAIM = "service_name"

TOKEN_REVOKED = "Token has been revoked"  # noqa: S105 (a message)
# User tokens minted before sessions were records carry an epoch claim and name no session record.
TOKEN_PREDATES_SESSIONS = "Token was issued before an upgrade of the service; sign in again"  # noqa: S105

# Raises the epoch past both its old value and the clock (so it never falls back below an epoch
# that expired from Redis) and records the one session allowed to survive.
_RAISE_EPOCH = RedisScript("""
local current = tonumber(string.match(redis.call('GET', KEYS[1]) or '0', '^%d+'))
local epoch = math.max(current + 1, tonumber(ARGV[1]))
local value = string.format('%d', epoch)
if ARGV[2] ~= '' then value = value .. ':' .. ARGV[2] end
redis.call('SET', KEYS[1], value, 'EX', ARGV[3])
return epoch
""")


class InvalidSubjectToken(DomainError):
    """A token a service passed along to be checked is not a live user access token."""

    def __init__(self, status_code: int, msg: str, header: str) -> None:
        super().__init__(msg, {header: [msg]})
        self.status_code = status_code


class RefreshTokenReused(Unauthorized):
    """A refresh token came back after it had been exchanged, past the grace window."""

    def __init__(self) -> None:
        super().__init__("Refresh token has already been used; the session has been revoked")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def encoded(self) -> str:
        """The two tokens as one string, to be kept for the grace window."""
        return f"{self.access_token} {self.refresh_token}"

    @classmethod
    def decoded(cls, encoded: str) -> TokenPair:
        """The pair `encoded` holds, byte for byte."""
        access_token, refresh_token = encoded.split(" ")
        return cls(access_token, refresh_token, _access_token_life())


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    expires_in: int


def start_session(
    user_id: uuid.UUID,
    *,
    ip_address: str | None,
    user_agent: str | None,
    method: str = sessions.PASSWORD_METHOD,
) -> TokenPair:
    """Start a new session for the user and return its first pair of tokens."""
    session_id, generation = sessions.start(user_id, ip_address=ip_address, user_agent=user_agent, method=method)
    return _issue(str(user_id), session_id, generation)


def issue_service_token(service_id: uuid.UUID, service_name: str) -> ServiceToken:
    """A short-lived token for a service: no refresh token, it asks again with its secret."""
    lifetime = current_settings().jwt_service_token_expires
    epoch = redis_store.client.get(redis_keys.service_token_epoch(str(service_id)))
    claims = {
        TYPE_CLAIM: SERVICE_TOKEN_TYPE,
        SERVICE_NAME_CLAIM: service_name,
        SESSION_CLAIM: sessions.new_session_id(),
        EPOCH_CLAIM: int(epoch.partition(":")[0]) if epoch else 0,
    }
    token = create_access_token(identity=str(service_id), additional_claims=claims, expires_delta=lifetime)
    return ServiceToken(access_token=token, expires_in=int(lifetime.total_seconds()))


def is_service_token(claims: Mapping[str, Any]) -> bool:
    """Whether the claims are a service's rather than a user's."""
    return claims.get(TYPE_CLAIM) == SERVICE_TOKEN_TYPE


def verify_user_access_token(encoded_token: str, *, header: str) -> dict[str, Any]:
    """The claims of a live user access token sent in `header`; the same answers as a bearer token gets."""
    try:
        claims = decode_token(encoded_token)
    except jwt.ExpiredSignatureError as error:
        raise InvalidSubjectToken(401, "Token has expired", header) from error
    except (jwt.PyJWTError, JWTExtendedException) as error:
        raise InvalidSubjectToken(422, str(error) or "Invalid token", header) from error
    if claims.get(TYPE_CLAIM) != "access":
        raise InvalidSubjectToken(422, "Only user access tokens are allowed", header)
    if is_revoked(claims):
        raise InvalidSubjectToken(401, revocation_message(claims), header)
    return claims


def rotate(refresh_claims: dict[str, Any]) -> tuple[TokenPair, bool]:
    """Exchange a refresh token for a new pair, and whether this exchange made it (not the grace window).

    The token just exchanged, again within the grace window, answers the pair its exchange did; past
    the window, or an older token, ends the session.
    """
    user_id, session_id = refresh_claims["sub"], refresh_claims[SESSION_CLAIM]
    # Not the hot path, so the account is checked too: its deletion may predate this Redis's memory.
    if db.session.get(User, uuid.UUID(user_id)) is None:
        sessions.end(user_id, session_id)
        raise Unauthorized("The account no longer exists")
    presented = str(refresh_claims.get(GENERATION_CLAIM))
    outcome, kept = sessions.rotate(user_id, session_id, presented)
    if outcome == "current":
        generation = sessions.new_generation()
        pair = _issue(user_id, session_id, generation)
        outcome, kept = sessions.rotate(user_id, session_id, presented, generation, pair.encoded())
        if outcome == "rotated":
            return pair, True
    if outcome == "grace":
        return TokenPair.decoded(kept), False
    if outcome == "reused":
        audit.record("refresh_reuse_detected", warning=True, user_id=user_id, session=session_id)
        metrics.REFRESH_REUSE.inc()
        raise RefreshTokenReused()
    raise Unauthorized(TOKEN_REVOKED)


def log_out(claims: dict[str, Any]) -> None:
    """End the session of this token: every token of it dies. A used refresh token is refused."""
    if sessions.end(claims["sub"], claims[SESSION_CLAIM], generation=_generation_required(claims)) != 1:
        raise Unauthorized(TOKEN_REVOKED)
    audit.record("logout", user_id=claims["sub"], session=claims[SESSION_CLAIM])


def require_current(claims: dict[str, Any]) -> None:
    """Refuse a refresh token that has been exchanged already, like any dead token (access tokens pass)."""
    if claims.get(TYPE_CLAIM) == "refresh" and not sessions.is_current(
        claims["sub"], claims[SESSION_CLAIM], _generation_required(claims)
    ):
        raise Unauthorized(TOKEN_REVOKED)


def log_out_everywhere(user_id: uuid.UUID | str) -> None:
    """End every session of the user."""
    end_every_session(uuid.UUID(str(user_id)))
    audit.record("logout_all", warning=True, user_id=user_id)


def end_every_session(user_id: uuid.UUID, *, except_session: str | None = None) -> None:
    """End every session of the user but `except_session`: their tokens die at once, their records follow."""
    revoke_all_sessions(user_id, except_session=except_session)
    sessions.forget_all(user_id, except_session=except_session)


def revoke_all_sessions(user_id: uuid.UUID | str, *, except_session: str | None = None) -> None:
    """Kill every token of every session of the user, but those of `except_session`: one O(1) write."""
    _raise_epoch(redis_keys.user_token_epoch(str(user_id)), except_session)


def revoke_service_tokens(service_id: uuid.UUID) -> None:
    """Kill every token the service holds."""
    _raise_epoch(redis_keys.service_token_epoch(str(service_id)), None)


def _raise_epoch(key: str, except_session: str | None) -> None:
    _RAISE_EPOCH.acknowledged([key], [time.time_ns() // 1_000_000, except_session or "", _longest_token_life()])


def is_revoked(claims: dict[str, Any]) -> bool:
    """Whether a token (already checked for signature, expiry and type) has been revoked: one cached read."""
    session_id, subject = claims.get(SESSION_CLAIM), claims["sub"]
    if not isinstance(session_id, str):
        return True
    if claims.get(TYPE_CLAIM) == SERVICE_TOKEN_TYPE:
        epoch = claims.get(EPOCH_CLAIM)
        [current] = redis_store.cache.mget(redis_keys.service_token_epoch(subject))
        return not isinstance(epoch, int) or (current is not None and epoch < int(current.partition(":")[0]))
    record, user_epoch = redis_store.cache.mget(
        redis_keys.session(subject, session_id), redis_keys.user_token_epoch(subject)
    )
    if record is None:
        return True
    if user_epoch is None:
        return False
    current, _, spared = user_epoch.partition(":")
    return int(record[: record.index(":")]) < int(current) and session_id != spared


def revocation_message(claims: dict[str, Any]) -> str:
    """Why a revoked token is refused, in words a client can act on."""
    if EPOCH_CLAIM in claims and not is_service_token(claims):
        return TOKEN_PREDATES_SESSIONS
    return TOKEN_REVOKED


def _generation_required(claims: dict[str, Any]) -> str:
    """The generation a token must still be current at to act for its session: a refresh token's own; any for others."""
    return str(claims.get(GENERATION_CLAIM)) if claims.get(TYPE_CLAIM) == "refresh" else ""


def _issue(user_id: str, session_id: str, generation: str) -> TokenPair:
    return TokenPair(
        access_token=create_access_token(identity=user_id, additional_claims={SESSION_CLAIM: session_id}),
        refresh_token=create_refresh_token(
            identity=user_id, additional_claims={SESSION_CLAIM: session_id, GENERATION_CLAIM: generation}
        ),
        expires_in=_access_token_life(),
    )


def _access_token_life() -> int:
    return int(current_settings().jwt_access_token_expires.total_seconds())


def _longest_token_life() -> int:
    return int(current_settings().longest_token_life.total_seconds()) + 1
