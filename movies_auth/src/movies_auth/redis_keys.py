"""The Redis key layout of movies_auth: every key the service reads or writes is named here.

Keys are short on purpose: a busy deployment holds one key per revoked session and per used
refresh token, and Redis memory per key grows with the key's length.
"""

PREFIX = "auth"

# Flask-Limiter counters (the `limits` library appends its own suffixes).
RATE_LIMIT_PREFIX = f"{PREFIX}:rl"


def revoked_session(session_id: str) -> str:
    """Present while a session (one login and every token refreshed from it) is revoked."""
    return f"{PREFIX}:rs:{session_id}"


def used_refresh_token(jti: str) -> str:
    """Present once a refresh token has been exchanged; a second exchange is a replay."""
    return f"{PREFIX}:ur:{jti}"


def user_token_epoch(user_id: str) -> str:
    """`<epoch>` or `<epoch>:<session id>`: tokens minted before the epoch are dead, but that session."""
    return f"{PREFIX}:ue:{user_id}"
