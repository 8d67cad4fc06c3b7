"""Failed logins slow the guesser down without locking the account's owner out.

Failures are counted twice: per account and client address, and per account alone. Each counter lets
a few failures through freely (`LOGIN_FREE_FAILURES`, and many more for the account alone); after
those, every next attempt waits a delay that doubles with each failure, up to `LOGIN_FAILURE_MAX_DELAY`,
and is refused with 429 and `Retry-After` until then. An address the account signed in from lately is
counted per address only: an attacker elsewhere, however many addresses he has, cannot make its owner
wait, while brute force from many addresses still meets the account's own counter.

A slot is taken before the password is checked (in one Redis script, so parallel attempts are counted
exactly) and given back when the password was right.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from flask import current_app
from werkzeug.exceptions import TooManyRequests

from movies_auth.domain import audit
from movies_auth.extensions import current_settings
from movies_auth.models import normalize_email
from movies_auth.observability import metrics
from movies_auth.observability.request_context import client_ip
from movies_auth.stores import redis_keys
from movies_auth.stores.redis_scripts import RedisScript

KNOWN_ADDRESSES_KEPT = 10

# KEYS: the account's failures from this address, its failures from unknown addresses, its known addresses.
# ARGV: address, now, free failures per address, free failures per account, first delay, longest delay,
# how long a counter lives after its last failure (times in ms). Returns {ms to wait, account counted}.
_RESERVE = RedisScript("""
local now, base, longest = tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function wait(key, free)
  local state = redis.call('HMGET', key, 'n', 't')
  local failures = tonumber(state[1] or '0')
  if failures < free then return 0 end
  return math.max(0, tonumber(state[2] or '0') + math.min(base * 2 ^ (failures - free), longest) - now)
end
local counted = {KEYS[1]}
local waiting = wait(KEYS[1], tonumber(ARGV[3]))
local known = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not known then
  counted[2] = KEYS[2]
  waiting = math.max(waiting, wait(KEYS[2], tonumber(ARGV[4])))
end
if waiting > 0 then return {math.ceil(waiting), 0} end
for _, key in ipairs(counted) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 't', ARGV[2])
  redis.call('PEXPIRE', key, ARGV[7])
end
return {0, #counted - 1}
""")

# The password was right: this address starts afresh, the account's slot is given back, and the address is
# remembered (the most recent few only). ARGV: address, account counted (0/1), now, addresses kept, memory (ms).
_SUCCEEDED = RedisScript("""
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' and redis.call('HINCRBY', KEYS[2], 'n', -1) <= 0 then redis.call('DEL', KEYS[2]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[3], ARGV[5])
""")


def reserve(email: str) -> Callable[[], None]:
    """Count one failed login of the account from this client before the password is checked (429 while it must
    wait); call the result when the password was right."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return lambda: None
    settings = current_settings()
    account, address = account_key(email), client_ip()
    keys = (
        redis_keys.login_failures_from(account, address),
        redis_keys.login_failures(account),
        redis_keys.login_known_addresses(account),
    )
    now = _milliseconds(time.time())
    waiting, account_counted = _RESERVE(
        keys,
        [
            address,
            now,
            settings.login_free_failures,
            settings.login_free_failures_per_account,
            _milliseconds(settings.login_failure_delay.total_seconds()),
            _milliseconds(settings.login_failure_max_delay.total_seconds()),
            _milliseconds(settings.login_failure_memory.total_seconds()),
        ],
    )
    if waiting:
        retry_after = max(1, math.ceil(int(waiting) / 1000))
        audit.record("login_locked_out", warning=True, account=account[:16], ip=address, retry_after=retry_after)
        metrics.LOGIN_LOCKOUTS.inc()
        raise TooManyRequests("failed logins of this account", retry_after=retry_after)

    def succeeded() -> None:
        _SUCCEEDED(
            keys,
            [
                address,
                account_counted,
                _milliseconds(time.time()),
                KNOWN_ADDRESSES_KEPT,
                _milliseconds(settings.login_known_address_memory.total_seconds()),
            ],
        )

    return succeeded


def account_key(email: str) -> str:
    """The account's name in Redis: a digest, so any input makes a valid key and no email is spelled out."""
    return hashlib.sha256(normalize_email(email).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _milliseconds(seconds: float) -> int:
    return int(seconds * 1000)
