"""The Redis key layout of movies_auth: every key the service reads or writes is named here.

Every key about one user carries the user's id as a Redis Cluster hash tag (`{<uuid>}`), so all of
them live in one hash slot and each script or multi-key read about a user stays on one node. The
kind comes first (`auth:<kind>:{<uuid>}...`): client-side caching subscribes to key prefixes, so a
prefix must name one kind of key. Keys are short on purpose: Redis memory per key grows with its name.
"""

PREFIX = "auth"

# Flask-Limiter counters (the `limits` library appends its own suffixes). Each route's limit names its scope
# and whom it counts: a client address, an account, or (`mail-address`) the SHA-256 prefix of a mailed address
# (`login_throttle.account_key`), shared by every route that mails one. Each counter expires with its window.
RATE_LIMIT_PREFIX = f"{PREFIX}:rl"

_SESSION = f"{PREFIX}:s:"
_SESSION_PAIR = f"{PREFIX}:sp:"
_USER_SESSIONS = f"{PREFIX}:us:"
_USER_TOKEN_EPOCH = f"{PREFIX}:ue:"
_USER_GRANTS_VERSION = f"{PREFIX}:uv:"
_USER_PERMISSIONS = f"{PREFIX}:up:"


def _tag(user_id: str) -> str:
    return f"{{{user_id}}}"


def session(user_id: str, session_id: str) -> str:
    """`<epoch>:<generation>:<previous generation>:<last use, ms>`: present while the session lives.

    Its tokens are valid only while it exists; a refresh token only while its generation is current.
    """
    return f"{_SESSION}{{{user_id}}}{session_id}"


def session_key_prefix(user_id: str) -> str:
    """What `session` puts before the session id, for scripts that name a user's other sessions."""
    return f"{_SESSION}{_tag(user_id)}"


def session_pair(user_id: str, session_id: str) -> str:
    """`<access token> <refresh token>`: the pair the last refresh answered, kept for the grace window only."""
    return f"{_SESSION_PAIR}{{{user_id}}}{session_id}"


def session_pair_prefix(user_id: str) -> str:
    """What `session_pair` puts before the session id."""
    return f"{_SESSION_PAIR}{_tag(user_id)}"


def user_sessions(user_id: str) -> str:
    """A sorted set of the user's session ids, scored by last use (ms): what eviction and the device list read."""
    return f"{_USER_SESSIONS}{_tag(user_id)}"


def user_token_epoch(user_id: str) -> str:
    """`<epoch>` or `<epoch>:<session id>`: sessions started before the epoch are dead, but that session."""
    return f"{_USER_TOKEN_EPOCH}{_tag(user_id)}"


def service_token_epoch(service_id: str) -> str:
    """`<epoch>`: a service's tokens minted before the epoch are dead (services have no sessions)."""
    return f"{_USER_TOKEN_EPOCH}{service_id}"


def refresh_limit_subject(user_id: str, session_id: str) -> str:
    """What Flask-Limiter counts one session's refreshes under (inside its own key, so in the user's slot)."""
    return f"{_tag(user_id)}{session_id}"


# The permission cache: an entry per user, stamped with the two versions it was computed under.
# Any role or permission change bumps the one global version; a change to one user's grants bumps
# that user's version. An entry whose stamp differs from the current versions is ignored, so every
# invalidation is one O(1) write and no key is ever scanned. The global version has no hash tag, so
# on a cluster it lives in a slot of its own: the client-side cache reads it with a command of its own.
GRANTS_VERSION = f"{PREFIX}:gv"


def user_grants_version(user_id: str) -> str:
    """A counter bumped whenever this user's own roles or permissions change."""
    return f"{_USER_GRANTS_VERSION}{_tag(user_id)}"


def user_permissions(user_id: str) -> str:
    """`<global version>:<user version>:<JSON>`: the user's combined permissions, as last computed."""
    return f"{_USER_PERMISSIONS}{_tag(user_id)}"


# What every check reads, so each process keeps a copy that Redis invalidates on write (client_cache).
CLIENT_CACHED_PREFIXES = (_SESSION, _USER_TOKEN_EPOCH, GRANTS_VERSION, _USER_GRANTS_VERSION, _USER_PERMISSIONS)


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


# Social sign-in (oauth_flow). Both kinds are single use (read with GETDEL), expire on their own, and are named
# by the SHA-256 of the random value the browser carries, so a key's length never depends on the request.
def oauth_state(state_digest: str) -> str:
    """JSON `{p, v, n, r, u, b}`: a started sign-in (provider, PKCE verifier, nonce, redirect_uri, for a link the
    account and session asking, and the SHA-256 of the cookie value binding it to the browser that started it)."""
    return f"{PREFIX}:os:{state_digest}"


def oauth_code(code_digest: str) -> str:
    """JSON `{u, p}`: the one-time code a redirected sign-in answered, to be exchanged for tokens."""
    return f"{PREFIX}:oc:{code_digest}"


# Every sign-in started and not yet called back, across all callers: the bound OAUTH_MAX_PENDING counts them.
# A sorted set of their state digests scored by expiry (ms): one key, so the check and the count are one atomic
# script on one node. It holds at most OAUTH_MAX_PENDING members and expires with its last one.
OAUTH_PENDING = f"{PREFIX}:op"
