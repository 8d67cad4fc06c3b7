"""A social sign-in is bound to the browser that started it: one cookie per started sign-in (login CSRF, §8).

The start sets a cookie named for the sign-in's state (a short id derived from the state, not a secret) and
holding a random value; the state's record keeps only the value's SHA-256. The callback reads the cookie of its
state and compares in constant time, so a callback URL opened in another browser (someone else's code and state
sent to a victim) is refused. One cookie per sign-in: sign-ins started in two tabs do not overwrite each other,
and a browser keeps at most `MAX_PENDING` of them (the start drops the oldest).

The cookie is scoped to the OAuth routes, HttpOnly, SameSite=Lax (it must come back on the top-level redirect
from the provider), Secure (and named `__Secure-`) when PUBLIC_URL or the request is https.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from werkzeug import Request, Response

from movies_auth.extensions import current_settings

COOKIE_PATH = "/auth/api/v1/oauth/"
NAME_PREFIX = "movies_oauth_"
SECURE_PREFIX = "__Secure-"
ID_LENGTH = 16  # hex characters of the cookie name's id: 64 bits, enough to tell a browser's few sign-ins apart
MAX_PENDING = 5
# `<start time, µs, hex>.<32 random bytes, url-safe base64>`: the time only orders a browser's cookies.
VALUE = re.compile(r"^([0-9a-f]{1,16})\.[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Binding:
    """A new sign-in's cookie (name, value) and what its state keeps of it (digest)."""

    name: str
    value: str
    digest: str


def is_secure(request: Request) -> bool:
    """Whether the cookie is Secure and `__Secure-` named: the callback (at PUBLIC_URL) or this request is https."""
    return request.is_secure or urlsplit(current_settings().public_url).scheme == "https"


def cookie_name(state: str, request: Request) -> str:
    """The name of the cookie binding `state`'s sign-in: derived from the state, so the callback can find it."""
    ident = hashlib.sha256(b"oauth-binding:" + state.encode("utf-8", "surrogatepass")).hexdigest()[:ID_LENGTH]
    return _prefix(request) + ident


def new(state: str, request: Request) -> Binding:
    """A fresh random binding for `state`'s sign-in."""
    value = f"{time.time_ns() // 1000:x}.{secrets.token_urlsafe(32)}"
    return Binding(cookie_name(state, request), value, _digest(value))


def matches(state: str, stored_digest: str | None, request: Request) -> bool:
    """Whether the request carries `state`'s cookie with the value whose digest the state kept."""
    value = request.cookies.get(cookie_name(state, request))
    if not value or not stored_digest:
        return False
    return hmac.compare_digest(_digest(value), stored_digest)


def attach(response: Response, binding: Binding, request: Request, max_age: int) -> None:
    """Set the binding's cookie on the start's answer, expiring the browser's oldest ones beyond `MAX_PENDING`."""
    secure = is_secure(request)
    for name in _crowding(request.cookies, _prefix(request)):
        response.delete_cookie(name, path=COOKIE_PATH, secure=secure, httponly=True, samesite="Lax")
    response.set_cookie(
        binding.name, binding.value, max_age=max_age, path=COOKIE_PATH, secure=secure, httponly=True, samesite="Lax"
    )


def release(response: Response, state: str, request: Request) -> None:
    """Clear `state`'s cookie on the callback's answer, whatever the answer: the state is used up."""
    name = cookie_name(state, request)
    if name in request.cookies:
        response.delete_cookie(name, path=COOKIE_PATH, secure=is_secure(request), httponly=True, samesite="Lax")


def _crowding(cookies: Mapping[str, str], prefix: str) -> list[str]:
    """The binding cookies to drop so a new one makes `MAX_PENDING`: malformed ones, then the oldest."""
    matches = {name: VALUE.fullmatch(value) for name, value in cookies.items() if name.startswith(prefix)}
    malformed = [name for name, match in matches.items() if match is None]
    started_at = {name: int(match[1], 16) for name, match in matches.items() if match is not None}
    newest_first = sorted(started_at, key=started_at.__getitem__, reverse=True)
    return malformed + newest_first[MAX_PENDING - 1 :]


def _prefix(request: Request) -> str:
    return (SECURE_PREFIX if is_secure(request) else "") + NAME_PREFIX


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
