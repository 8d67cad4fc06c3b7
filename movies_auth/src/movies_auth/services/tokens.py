"""Sessions and their tokens: issue, rotate, revoke, and the revocation check every request makes.

A login starts a session; every token minted for it carries the session id (`sid`) and the user's
token epoch at login (`ep`). Revocation is a denylist in Redis, O(1) whatever the user did before:

- one session dies by a key for its id (logout, or a replayed refresh token);
- all of a user's sessions die by raising the user's epoch (logout everywhere, password change,
  deletion): a token whose `ep` is below it is dead. Tokens carry the epoch they were minted
  under, not a timestamp, so a token minted earlier in the same second dies too and one minted
  right after lives. Password changes name the one session that survives them.

Every key lives at least as long as the longest-lived token it can kill (a refresh token).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException

from movies_auth import audit, redis_keys
from movies_auth.errors import APIError, Unauthorized
from movies_auth.extensions import current_settings, db, redis_store
from movies_auth.models import User

SESSION_CLAIM = "sid"
EPOCH_CLAIM = "ep"
TYPE_CLAIM = "type"
SERVICE_TOKEN_TYPE = "service"  # noqa: S105 (a token type)
SERVICE_NAME_CLAIM = "service_name"

# Raises the epoch past both its old value and the clock (so it never falls back below an epoch
# that expired from Redis) and records the one session allowed to survive.
_RAISE_EPOCH = """
local current = tonumber(string.match(redis.call('GET', KEYS[1]) or '0', '^%d+'))
local epoch = math.max(current + 1, tonumber(ARGV[1]))
local value = string.format('%d', epoch)
if ARGV[2] ~= '' then value = value .. ':' .. ARGV[2] end
redis.call('SET', KEYS[1], value, 'EX', ARGV[3])
return epoch
"""


class InvalidSubjectToken(APIError):
    """A token a service passed along to be checked is not a live user access token."""

    def __init__(self, status_code: int, msg: str, header: str) -> None:
        super().__init__(msg, {header: [msg]})
        self.status_code = status_code


class RefreshTokenReused(Unauthorized):
    """A refresh token came back after it had been exchanged."""

    def __init__(self) -> None:
        super().__init__("Refresh token has already been used; the session has been revoked")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    expires_in: int


def start_session(user_id: uuid.UUID) -> TokenPair:
    """Start a new session for the user and return its first pair of tokens."""
    return _issue(str(user_id), new_session_id(), _current_epoch(str(user_id)))


def issue_service_token(service_id: uuid.UUID, service_name: str) -> ServiceToken:
    """A short-lived token for a service: no refresh token, it asks again with its secret."""
    lifetime = current_settings().jwt_service_token_expires
    claims = {
        TYPE_CLAIM: SERVICE_TOKEN_TYPE,
        SERVICE_NAME_CLAIM: service_name,
        SESSION_CLAIM: new_session_id(),
        EPOCH_CLAIM: _current_epoch(str(service_id)),
    }
    token = create_access_token(identity=str(service_id), additional_claims=claims, expires_delta=lifetime)
    return ServiceToken(access_token=token, expires_in=int(lifetime.total_seconds()))


def is_service_token(claims: dict[str, Any]) -> bool:
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
        raise InvalidSubjectToken(401, "Token has been revoked", header)
    return claims


def _current_epoch(subject: str) -> int:
    value = redis_store.client.get(redis_keys.user_token_epoch(subject))
    return int(value.partition(":")[0]) if value else 0


def rotate(refresh_claims: dict[str, Any]) -> TokenPair:
    """Exchange a refresh token for a new pair; a second exchange of the same token kills the session."""
    # Not the hot path, so the account is checked too: its deletion may predate this Redis's memory.
    if db.session.get(User, uuid.UUID(refresh_claims["sub"])) is None:
        revoke_session(refresh_claims[SESSION_CLAIM])
        raise Unauthorized("The account no longer exists")
    first_use = redis_store.client.set(
        redis_keys.used_refresh_token(refresh_claims["jti"]), 1, nx=True, ex=_remaining_life(refresh_claims)
    )
    if not first_use:
        revoke_session(refresh_claims[SESSION_CLAIM])
        audit.record("refresh_reuse_detected", warning=True, user_id=refresh_claims["sub"],
                     session=refresh_claims[SESSION_CLAIM])  # fmt: skip
        raise RefreshTokenReused()
    return _issue(refresh_claims["sub"], refresh_claims[SESSION_CLAIM], refresh_claims[EPOCH_CLAIM])


def log_out(claims: dict[str, Any]) -> None:
    """End the session of this token: every token of it dies."""
    revoke_session(claims[SESSION_CLAIM])
    audit.record("logout", user_id=claims["sub"], session=claims[SESSION_CLAIM])


def log_out_everywhere(user_id: str) -> None:
    """End every session of the user."""
    revoke_all_sessions(user_id)
    audit.record("logout_all", warning=True, user_id=user_id)


def revoke_session(session_id: str) -> None:
    """Kill every token of one session."""
    redis_store.client.set(redis_keys.revoked_session(session_id), 1, ex=_longest_token_life())


def revoke_all_sessions(user_id: uuid.UUID | str, *, except_session: str | None = None) -> None:
    """Kill every token of every session of the user (or service), but those of `except_session`."""
    redis_store.client.eval(
        _RAISE_EPOCH,
        1,
        redis_keys.user_token_epoch(str(user_id)),
        time.time_ns() // 1_000_000,
        except_session or "",
        _longest_token_life(),
    )


def is_revoked(claims: dict[str, Any]) -> bool:
    """Whether a token (already checked for signature, expiry and type) has been revoked: one cached read."""
    session_id, epoch = claims.get(SESSION_CLAIM), claims.get(EPOCH_CLAIM)
    if not isinstance(session_id, str) or not isinstance(epoch, int):
        return True
    session_revoked, user_epoch = redis_store.cache.mget(
        redis_keys.revoked_session(session_id), redis_keys.user_token_epoch(claims["sub"])
    )
    if session_revoked is not None:
        return True
    if user_epoch is None:
        return False
    current, _, surviving_session = user_epoch.partition(":")
    return epoch < int(current) and session_id != surviving_session


def _issue(user_id: str, session_id: str, epoch: int) -> TokenPair:
    claims = {SESSION_CLAIM: session_id, EPOCH_CLAIM: epoch}
    return TokenPair(
        access_token=create_access_token(identity=user_id, additional_claims=claims),
        refresh_token=create_refresh_token(identity=user_id, additional_claims=claims),
        expires_in=int(current_settings().jwt_access_token_expires.total_seconds()),
    )


def new_session_id() -> str:
    """A fresh session id: 128 random bits in 22 url-safe characters."""
    # Short, so a revoked session's Redis key fits a smaller allocation: about 113 bytes per
    # revocation in all, against 129 for a hex uuid (make bench --scale measures it).
    return secrets.token_urlsafe(16)


def _remaining_life(claims: dict[str, Any]) -> int:
    return max(1, int(claims["exp"] - time.time()) + 1)


def _longest_token_life() -> int:
    return int(current_settings().longest_token_life.total_seconds()) + 1
