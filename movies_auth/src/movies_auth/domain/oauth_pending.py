"""The bound on social sign-ins pending across all callers (OAUTH_MAX_PENDING).

Each start keeps its state in Redis until the callback or OAUTH_STATE_TTL. The per-address rate limit bounds what
one address keeps, not what many keep together: this bound does, so Redis memory stays bounded whatever the
number of addresses. A start reserves a place in one sorted set (`redis_keys.OAUTH_PENDING`, the state's digest
scored by its expiry) before its state is written, and the callback gives the place back; a place whose sign-in
was abandoned frees itself at its expiry. Checking and reserving are one Lua script on one key, so two starts
racing for the last place cannot both have it. A full set answers 503 with `Retry-After`: the wait until the
oldest pending sign-in expires.
"""

from __future__ import annotations

import math

from movies_auth.domain import audit
from movies_auth.domain.errors import DomainError
from movies_auth.extensions import current_settings, redis_store
from movies_auth.observability.request_context import client_ip
from movies_auth.stores import redis_keys
from movies_auth.stores.redis_scripts import RedisScript

# ARGV: the sign-in's lifetime (ms), the bound, the state's digest. Answers 0 (reserved) or, when full, the
# milliseconds until the oldest place frees. Redis's clock, not the workers': one clock for every score.
_RESERVE = RedisScript("""
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lifetime, bound = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= bound then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) - now, 1)
end
redis.call('ZADD', KEYS[1], now + lifetime, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(last[2]) - now, 1))
return 0
""")


class TooManyPendingSignIns(DomainError):
    """OAUTH_MAX_PENDING sign-ins are waiting for their callback: no place for another until one ends."""

    status_code = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many social sign-ins are in progress; try again after the Retry-After delay")
        self.headers = (("Retry-After", str(retry_after)),)


def reserve(state_digest: str, ttl_seconds: int) -> None:
    """Take a place for the sign-in whose state has this digest, for `ttl_seconds`; `TooManyPendingSignIns` when
    every place is taken."""
    bound = current_settings().oauth_max_pending
    waiting = int(_RESERVE([redis_keys.OAUTH_PENDING], [ttl_seconds * 1000, bound, state_digest]))
    if waiting:
        retry_after = max(1, math.ceil(waiting / 1000))
        audit.record("social_sign_ins_full", warning=True, bound=bound, ip=client_ip(), retry_after=retry_after)
        raise TooManyPendingSignIns(retry_after)


def release(state_digest: str) -> None:
    """Give back the place of a sign-in whose state is used up."""
    redis_store.client.zrem(redis_keys.OAUTH_PENDING, state_digest)
