"""The Redis key layout of movies_auth: every key the service reads or writes is named here.

Keys are short on purpose: a busy deployment holds one key per revoked session and per used
refresh token, and Redis memory per key grows with the key's length.
"""

PREFIX = "auth"

# Flask-Limiter counters (the `limits` library appends its own suffixes).
RATE_LIMIT_PREFIX = f"{PREFIX}:rl"


_REVOKED_SESSION = f"{PREFIX}:rs:"
_USER_TOKEN_EPOCH = f"{PREFIX}:ue:"
_USER_GRANTS_VERSION = f"{PREFIX}:uv:"
_USER_PERMISSIONS = f"{PREFIX}:up:"


def revoked_session(session_id: str) -> str:
    """Present while a session (one login and every token refreshed from it) is revoked."""
    return f"{_REVOKED_SESSION}{session_id}"


def used_refresh_token(jti: str) -> str:
    """Present once a refresh token has been exchanged; a second exchange is a replay."""
    return f"{PREFIX}:ur:{jti}"


def user_token_epoch(user_id: str) -> str:
    """`<epoch>` or `<epoch>:<session id>`: tokens minted before the epoch are dead, but that session."""
    return f"{_USER_TOKEN_EPOCH}{user_id}"


# The permission cache: an entry per user, stamped with the two versions it was computed under.
# Any role or permission change bumps the one global version; a change to one user's grants bumps
# that user's version. An entry whose stamp differs from the current versions is ignored, so every
# invalidation is one O(1) write and no key is ever scanned.
GRANTS_VERSION = f"{PREFIX}:gv"


def user_grants_version(user_id: str) -> str:
    """A counter bumped whenever this user's own roles or permissions change."""
    return f"{_USER_GRANTS_VERSION}{user_id}"


def user_permissions(user_id: str) -> str:
    """`<global version>:<user version>:<JSON>`: the user's combined permissions, as last computed."""
    return f"{_USER_PERMISSIONS}{user_id}"


# What every check reads, so each process keeps a copy that Redis invalidates on write (client_cache).
CLIENT_CACHED_PREFIXES = (_REVOKED_SESSION, _USER_TOKEN_EPOCH, GRANTS_VERSION, _USER_GRANTS_VERSION, _USER_PERMISSIONS)


# Failed logins (login_throttle). An account's keys share one hash tag, `{<account>}`, so the script that
# reads and counts them all at once runs on one node of a cluster. Each key expires a while after its
# last write, and there are at most as many as accounts times client addresses that tried lately.
def login_failures(account: str) -> str:
    """A hash `{n, t}`: failed logins of the account from addresses it never signed in from, the last at `t` (ms)."""
    return f"{PREFIX}:lf:{{{account}}}"


def login_failures_from(account: str, address: str) -> str:
    """A hash `{n, t}`: failed logins of the account from one client address."""
    return f"{PREFIX}:lf:{{{account}}}:{address}"


def login_known_addresses(account: str) -> str:
    """A sorted set: the client addresses the account signed in from lately, scored by when (ms); a few at most."""
    return f"{PREFIX}:la:{{{account}}}"
