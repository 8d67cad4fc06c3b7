"""Sessions as records: one per sign-in, bounded in size whatever its number of refreshes.

A session lives in Redis as one short string (`redis_keys.session`): the user's token epoch when it
started, its current refresh generation, the generation just exchanged, and the time of its last use.
Its tokens are valid only while that key exists, so ending a session deletes one key and leaves
nothing behind. A refresh token names its session and generation; rotating it replaces the
generation atomically (one script), so a used refresh token needs no key of its own. The pair a
refresh answered is kept for the grace window only, under a key the next refresh overwrites.

Each user's sessions are indexed by last use (`redis_keys.user_sessions`), which bounds them to
`MAX_SESSIONS_PER_USER` and orders the device list. Every key of one user shares one hash slot.
What a device list shows beyond that (when and where the session started, with which client and
method) is written once to PostgreSQL, and deleted with the session.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select

from movies_auth.domain import audit, devices
from movies_auth.domain.login_history import printable_user_agent
from movies_auth.extensions import current_settings, db, redis_store
from movies_auth.models import SESSION_ID_PATTERN, UserSession
from movies_auth.stores import redis_keys
from movies_auth.stores.redis_scripts import RedisScript

PASSWORD_METHOD = "password"  # noqa: S105 (a sign-in method)
SESSION_ID = re.compile(SESSION_ID_PATTERN)

# Whether a session record (or nil) is alive under the user's epoch: started at or after it, or the
# one session the last epoch raise spared.
_ALIVE = """
local function alive(value, epoch_value, sid)
  if not value then return false end
  if not epoch_value then return true end
  local current, spared = string.match(epoch_value, '^(%d+):?(.*)$')
  return tonumber(string.match(value, '^%d+')) >= tonumber(current) or sid == spared
end
"""

# KEYS: the new session, the user's index, the user's epoch.
# ARGV: session id, generation, now (ms), lifetime (s), most sessions, session key prefix, pair key prefix.
# Drops the user's dead sessions from the index, adds this one, and ends the least recently used ones
# beyond the limit. Returns the ids of the sessions it dropped, then of those it ended.
_START = RedisScript(
    _ALIVE
    + """
local epoch_value = redis.call('GET', KEYS[3])
local swept, evicted = {}, {}
local function drop(sid, into)
  redis.call('DEL', ARGV[6] .. sid, ARGV[7] .. sid)
  redis.call('ZREM', KEYS[2], sid)
  table.insert(into, sid)
end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not alive(redis.call('GET', ARGV[6] .. sid), epoch_value, sid) then drop(sid, swept) end
end
local epoch = epoch_value and string.match(epoch_value, '^%d+') or '0'
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[2] .. '::' .. ARGV[3], 'EX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[5]) do
  drop(redis.call('ZRANGE', KEYS[2], 0, 0)[1], evicted)
end
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {swept, evicted}
"""
)

# KEYS: the session, its pair, the user's index, the user's epoch.
# ARGV: session id, presented generation, new generation, now (ms), grace (ms), lifetime (s), new pair.
# Without a new pair it only says whether the presented generation is current.
_ROTATE = RedisScript(
    _ALIVE
    + """
local value = redis.call('GET', KEYS[1])
if not alive(value, redis.call('GET', KEYS[4]), ARGV[1]) then return {'dead'} end
local epoch, current, previous, used = string.match(value, '^(%d+):([^:]*):([^:]*):(%d+)$')
if current == ARGV[2] then
  if ARGV[7] == '' then return {'current'} end
  redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[3] .. ':' .. current .. ':' .. ARGV[4], 'EX', ARGV[6])
  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[5]) else redis.call('DEL', KEYS[2]) end
  redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  return {'rotated'}
end
if previous == ARGV[2] and tonumber(ARGV[4]) - tonumber(used) <= tonumber(ARGV[5]) then
  local pair = redis.call('GET', KEYS[2])
  if pair then return {'grace', pair} end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return {'reused'}
"""
)

# KEYS: the session, its pair, the user's index, the user's epoch. ARGV: session id, required generation or ''.
# 1: ended; 0: no such live session; -1: alive, but the generation is not the current one (nothing changed).
_END = RedisScript(
    _ALIVE
    + """
local value = redis.call('GET', KEYS[1])
if not alive(value, redis.call('GET', KEYS[4]), ARGV[1]) then return 0 end
if ARGV[2] ~= '' and string.match(value, '^%d+:([^:]*)') ~= ARGV[2] then return -1 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""
)

# KEYS: the user's index, the user's epoch. ARGV: session key prefix.
# The live sessions, most recently used first: id, last use (ms), id, last use, ...
_LIVE = RedisScript(
    _ALIVE
    + """
local epoch_value = redis.call('GET', KEYS[2])
local live = {}
local entries = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  if alive(redis.call('GET', ARGV[1] .. entries[i]), epoch_value, entries[i]) then
    table.insert(live, entries[i])
    table.insert(live, entries[i + 1])
  end
end
return live
"""
)

Rotation = Literal["current", "rotated", "grace", "reused", "dead"]


@dataclass(frozen=True)
class SessionView:
    """One live session as the device list shows it."""

    session_id: str
    created_at: datetime
    last_used_at: datetime
    ip_address: str | None
    user_agent: str | None
    method: str
    current: bool

    @property
    def device(self) -> devices.Device:
        """The device, system and browser its user agent names."""
        return devices.describe(self.user_agent)


def new_session_id() -> str:
    """A fresh session id: 128 random bits in 22 url-safe characters."""
    return secrets.token_urlsafe(16)


def new_generation() -> str:
    """A fresh refresh generation: 64 random bits, so every generation has the same length and none is guessed."""
    return secrets.token_urlsafe(8)


def start(user_id: uuid.UUID, *, ip_address: str | None, user_agent: str | None, method: str) -> tuple[str, str]:
    """Start a session for the user, ending the least recently used beyond the limit; (session id, generation)."""
    user, session_id, generation = str(user_id), new_session_id(), new_generation()
    settings = current_settings()
    swept, evicted = _START(
        [redis_keys.session(user, session_id), redis_keys.user_sessions(user), redis_keys.user_token_epoch(user)],
        [session_id, generation, _now_ms(), _lifetime(), settings.max_sessions_per_user,
         redis_keys.session_key_prefix(user), redis_keys.session_pair_prefix(user)],
    )  # fmt: skip
    try:
        _forget(user_id, [*swept, *evicted])
        db.session.add(
            UserSession(
                id=session_id,
                user_id=user_id,
                ip_address=ip_address,
                user_agent=printable_user_agent(user_agent),
                method=method,
            )
        )
        db.session.commit()
    except Exception:
        # Tokens of a session the device list cannot show are never handed out.
        _end_in_redis(user, session_id)
        raise
    for ended in evicted:
        audit.record("session_evicted", user_id=user, session=ended)
    return session_id, generation


def rotate(user_id: str, session_id: str, presented: str, new: str = "", pair: str = "") -> tuple[Rotation, str]:
    """Move the session from generation `presented` to `new`, keeping `pair` for the grace window.

    Without `pair`, only says whether `presented` is current. The answer is "rotated", "current",
    "grace" (with the pair the exchange of `presented` answered), "reused" (the session has just been
    ended for it) or "dead"; and the pair, for "grace".
    """
    grace_ms = current_settings().jwt_refresh_grace_seconds * 1000
    arguments = [session_id, presented, new, _now_ms(), grace_ms, _lifetime(), pair]
    answer = _ROTATE(_keys_of(user_id, session_id), arguments)
    if answer[0] == "reused":
        _forget(uuid.UUID(user_id), [session_id])
    return answer[0], answer[1] if len(answer) > 1 else ""


def is_current(user_id: str, session_id: str, generation: str) -> bool:
    """Whether the session exists and `generation` is its current one."""
    record = redis_store.client.get(redis_keys.session(user_id, session_id))
    return record is not None and record.split(":")[1] == generation


def end(user_id: str, session_id: str, *, generation: str = "") -> int:
    """End one live session (only if `generation` is current, when given): 1 ended, 0 none such, -1 not current."""
    outcome = _end_in_redis(user_id, session_id, generation)
    if outcome == 1:
        _forget(uuid.UUID(user_id), [session_id])
    return outcome


def _end_in_redis(user_id: str, session_id: str, generation: str = "") -> int:
    return _END.acknowledged(_keys_of(user_id, session_id), [session_id, generation])


def _keys_of(user_id: str, session_id: str) -> list[str]:
    """What the rotate and end scripts touch: the session, its kept pair, the user's index and epoch (one slot)."""
    return [
        redis_keys.session(user_id, session_id),
        redis_keys.session_pair(user_id, session_id),
        redis_keys.user_sessions(user_id),
        redis_keys.user_token_epoch(user_id),
    ]


def end_session(user_id: uuid.UUID, session_id: str) -> bool:
    """End one of the user's live sessions by its id (the device list); whether there was one."""
    if not SESSION_ID.fullmatch(session_id) or end(str(user_id), session_id) != 1:
        return False
    audit.record("session_ended", user_id=user_id, session=session_id)
    return True


def forget_all(user_id: uuid.UUID, *, except_session: str | None = None) -> None:
    """Delete the device-list rows of sessions an epoch raise just ended; their Redis records go at the next sign-in."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if except_session is not None:
        query = query.where(UserSession.id != except_session)
    db.session.execute(query)
    db.session.commit()


def live(user_id: uuid.UUID, *, current_session: str | None = None) -> list[SessionView]:
    """The user's live sessions, most recently used first."""
    user = str(user_id)
    flat = _LIVE(
        [redis_keys.user_sessions(user), redis_keys.user_token_epoch(user)], [redis_keys.session_key_prefix(user)]
    )
    last_used = dict(zip(flat[::2], flat[1::2], strict=True))
    if not last_used:
        return []
    rows = {
        row.id: row
        for row in db.session.scalars(
            select(UserSession).where(UserSession.user_id == user_id, UserSession.id.in_(last_used))
        )
    }
    return [
        SessionView(
            session_id=session_id,
            created_at=row.created_at,
            last_used_at=datetime.fromtimestamp(int(used) / 1000, UTC),
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            method=row.method,
            current=session_id == current_session,
        )
        for session_id, used in last_used.items()
        if (row := rows.get(session_id)) is not None
    ]


def _forget(user_id: uuid.UUID, session_ids: list[str]) -> None:
    if session_ids:
        db.session.execute(delete(UserSession).where(UserSession.user_id == user_id, UserSession.id.in_(session_ids)))
        db.session.commit()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _lifetime() -> int:
    """How long a session outlives its last use: as long as the refresh token that use answered."""
    return int(current_settings().jwt_refresh_token_expires.total_seconds()) + 1
