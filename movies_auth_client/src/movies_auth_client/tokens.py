"""What can be told of a token without movies_auth: its shape, its size, its unverified claims."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from typing import Any

from movies_auth_client.errors import InvalidToken

# movies_auth's tokens are under 1 KiB. Past 4 KiB a token is refused here: sent on, it would make the
# auth service's server refuse the request line (431) and look like an outage.
MAX_TOKEN_LENGTH = 4096
# A compact JWS: three base64url parts. Anything else (spaces, non-ASCII bytes) cannot be a token, and
# could not even be written into the header of a call to movies_auth.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def checked(token: str) -> str:
    """The token, if it is a plausible movies_auth token by its length and alphabet; else InvalidToken."""
    if len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
        raise InvalidToken("Invalid token")
    return token


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a (checked) token, unverified: only to learn whose permissions to ask about."""
    payload = checked(token).split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        # RecursionError: a forged payload of deeply nested arrays.
        raise InvalidToken("Invalid token") from None
    if not isinstance(claims, dict):
        raise InvalidToken("Invalid token")
    return claims


def subject(claims: dict[str, Any]) -> uuid.UUID:
    """The user id the claims are about; InvalidToken when there is none."""
    try:
        return uuid.UUID(str(claims.get("sub")))
    except ValueError:
        raise InvalidToken("Invalid token") from None
