"""The server side of a social sign-in: its `state` (with the PKCE verifier and the nonce) between the redirect to
the provider and the callback, and the one-time code a redirected sign-in hands the browser.

Both live in Redis, so any worker serves any step; both are single use (GETDEL: of two requests carrying the same
value at once, one gets it) and short-lived; the states pending at once are bounded across all callers
(`oauth_pending`). The redirect target must be on OAUTH_REDIRECT_ALLOWLIST. A state is bound to the browser that
started the sign-in (`oauth_binding`): the callback must come with that browser's cookie.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug import Request

from movies_auth.domain import audit, oauth_binding, oauth_pending
from movies_auth.domain.errors import BadRequest, Unauthorized
from movies_auth.domain.oauth_providers.oauth2 import Provider
from movies_auth.extensions import current_settings, redis_store
from movies_auth.stores import redis_keys

STATE_BYTES = 32
STATE_LENGTH = 43  # url-safe base64 of 32 bytes
CODE_LENGTH = 43
RANDOM_PATTERN = r"^[A-Za-z0-9_-]{43}$"
REDIRECT_URI_MAX_LENGTH = 2048
LOGIN_PATH = "/auth/api/v1/oauth/{name}/login"
CALLBACK_PATH = "/auth/api/v1/oauth/{name}/callback"
# What the callback adds to a redirect_uri's query: a one-time code, a link done, or an error (RFC 6749 §4.1.2.1).
REDIRECT_PARAMETERS = frozenset({"code", "linked", "error", "error_description"})


class InvalidState(BadRequest):
    """A state never issued, used already, expired, or of another provider."""

    def __init__(self) -> None:
        super().__init__(
            "This sign-in is invalid, used or expired; start it again",
            {"state": ["Unknown, already used, or expired."]},
        )


class NotThisBrowser(BadRequest):
    """A callback without the cookie of the browser that started the sign-in (another browser, or cookies off)."""

    def __init__(self, redirect_uri: str | None) -> None:
        super().__init__(
            "This sign-in was not started in this browser (or its cookie is gone); start it again from this browser"
        )
        self.redirect_uri = redirect_uri


class LinkSessionEnded(Unauthorized):
    """The session that asked for a link signed out before the callback."""

    def __init__(self) -> None:
        super().__init__("The session that asked for this link has ended; sign in and link again")


class InvalidCode(BadRequest):
    def __init__(self) -> None:
        super().__init__(
            "This code is invalid, used or expired; sign in again", {"code": ["Unknown, used, or expired."]}
        )


@dataclass(frozen=True)
class Linking:
    user_id: str
    session_id: str


@dataclass(frozen=True)
class Started:
    provider: str
    verifier: str
    nonce: str | None
    redirect_uri: str | None
    linking: Linking | None


def login_url(provider: str) -> str:
    """Where a sign-in with `provider` starts: PUBLIC_URL + /auth/api/v1/oauth/<name>/login."""
    return _public(LOGIN_PATH.format(name=provider))


def callback_url(provider: str) -> str:
    """The redirect URI registered at the provider: PUBLIC_URL + /auth/api/v1/oauth/<name>/callback."""
    return _public(CALLBACK_PATH.format(name=provider))


def _public(path: str) -> str:
    # Built on the setting, never on the request's Host or X-Forwarded-Host, which whoever sends it chooses.
    return current_settings().public_url.rstrip("/") + path


def check_redirect_uri(redirect_uri: str) -> None:
    """400 unless `redirect_uri` is on OAUTH_REDIRECT_ALLOWLIST (same origin as an entry, and its path or under it)
    and its query leaves the parameters the callback adds to this service."""
    target = urlsplit(redirect_uri)
    # A `code` planted here would come first, before the real one: the app could trade someone else's sign-in.
    names = {name for name, _value in parse_qsl(target.query, keep_blank_values=True)}
    planted = sorted(REDIRECT_PARAMETERS & names)
    if planted:
        raise BadRequest(
            "redirect_uri may not carry the parameters the sign-in adds",
            {"redirect_uri": [f"Remove {', '.join(planted)} from its query."]},
        )
    for allowed in current_settings().oauth_redirect_prefixes:
        entry = urlsplit(allowed)
        same_origin = (target.scheme, target.netloc.lower()) == (entry.scheme, entry.netloc.lower())
        path = entry.path or "/"
        under = target.path == path or target.path.startswith(path if path.endswith("/") else path + "/")
        if same_origin and under and target.username is None and not target.fragment:
            return
    raise BadRequest("redirect_uri is not allowed", {"redirect_uri": ["Not on OAUTH_REDIRECT_ALLOWLIST."]})


def start(
    provider: Provider, request: Request, *, redirect_uri: str | None, linking: Linking | None
) -> tuple[str, oauth_binding.Binding]:
    """Keep a new sign-in's state, verifier, nonce and browser binding for OAUTH_STATE_TTL; the provider's
    authorization URL, and the binding cookie the browser must carry back. 503 while OAUTH_MAX_PENDING sign-ins
    are pending."""
    state = secrets.token_urlsafe(STATE_BYTES)
    authorization = provider.authorization(callback_url(provider.name), state)
    binding = oauth_binding.new(state, request)
    digest = _digest(state)
    oauth_pending.reserve(digest, state_ttl())
    record = {
        "p": provider.name,
        "v": authorization["code_verifier"],
        "n": authorization.get("nonce"),
        "r": redirect_uri,
        "u": [linking.user_id, linking.session_id] if linking else None,
        "b": binding.digest,
    }
    redis_store.client.set(redis_keys.oauth_state(digest), json.dumps(record), ex=state_ttl(), nx=True)
    return authorization["url"], binding


def state_ttl() -> int:
    """How long a started sign-in lives (seconds): its state in Redis and its cookie in the browser."""
    return int(current_settings().oauth_state_ttl.total_seconds())


def finish(provider: str, state: str, request: Request) -> Started:
    """Use the state up (once, whoever asks first); `InvalidState` when it is not a live one of `provider`,
    `NotThisBrowser` when the request lacks the cookie of the browser that started it."""
    digest = _digest(state)
    stored = redis_store.client.getdel(redis_keys.oauth_state(digest))
    if stored is None:
        raise InvalidState()
    oauth_pending.release(digest)
    record = json.loads(stored)
    if record["p"] != provider:
        raise InvalidState()
    linking = Linking(*record["u"]) if record["u"] else None
    if not oauth_binding.matches(state, record.get("b"), request):
        audit.record(
            "social_sign_in_unbound", warning=True, provider=provider, link_to=linking.user_id if linking else None
        )
        raise NotThisBrowser(record["r"])
    return Started(record["p"], record["v"], record["n"], record["r"], linking)


def issue_code(user_id: uuid.UUID, provider: str) -> str:
    """A one-time code for the signed-in user, good for OAUTH_CODE_TTL."""
    code = secrets.token_urlsafe(STATE_BYTES)
    ttl = int(current_settings().oauth_code_ttl.total_seconds())
    record = json.dumps({"u": str(user_id), "p": provider})
    redis_store.client.set(redis_keys.oauth_code(_digest(code)), record, ex=ttl, nx=True)
    return code


def redeem_code(code: str) -> tuple[uuid.UUID, str]:
    """Use a one-time code up: the user it signed in and the provider; `InvalidCode` when it is not a live one."""
    stored = redis_store.client.getdel(redis_keys.oauth_code(_digest(code)))
    if stored is None:
        raise InvalidCode()
    record: dict[str, Any] = json.loads(stored)
    return uuid.UUID(record["u"]), record["p"]


def with_parameters(url: str, **parameters: str) -> str:
    """`url` with these query parameters added to its own."""
    parts = urlsplit(url)
    query = "&".join(filter(None, (parts.query, urlencode(parameters))))
    return urlunsplit(parts._replace(query=query))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
