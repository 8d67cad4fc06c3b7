"""The signing keys as operators manage them: rotate, retire once no token can need a key, publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

from movies_auth.domain import audit
from movies_auth.domain.errors import Conflict, DomainError, NotFound
from movies_auth.domain.key_ring import KeyRing, SigningKey, generate, remove
from movies_auth.extensions import current_settings


@dataclass(frozen=True)
class KeyState:
    """A key and where it stands: `signing`, or `verifying` tokens signed before `superseded_at`."""

    key: SigningKey
    status: str
    superseded_at: datetime | None
    retirable_at: datetime | None


def key_ring() -> KeyRing:
    """The app's key ring; a clear error when tokens are signed with a shared secret instead."""
    ring = current_app.extensions.get("key_ring")
    if ring is None:
        raise DomainError("JWT_ALGORITHM is HS256: tokens are signed with JWT_SECRET_KEY, there is no key ring")
    return ring


def list_keys() -> list[KeyState]:
    """Every key of the ring, oldest first."""
    ring = key_ring()
    ring.refresh()
    snapshot = ring.snapshot
    states = []
    for kid in sorted(snapshot.keys):
        superseded_at = snapshot.superseded_at(kid)
        retirable_at = superseded_at + current_settings().longest_token_life if superseded_at else None
        states.append(
            KeyState(snapshot.keys[kid], "verifying" if superseded_at else "signing", superseded_at, retirable_at)
        )
    return states


def rotate() -> SigningKey:
    """Add a key that signs every new token; the older keys go on verifying the tokens they signed."""
    ring = key_ring()
    key = generate(ring.folder, ring.algorithm)
    ring.refresh()
    audit.record("signing_key_added", kid=key.kid)
    return key


def retire(kid: str, *, force: bool = False) -> KeyState:
    """Remove a key: tokens it signed stop working. Refused while it signs, or while its tokens may live."""
    state = next((state for state in list_keys() if state.key.kid == kid), None)
    if state is None:
        raise NotFound(f"No key {kid!r} in the key ring")
    if state.superseded_at is None or state.retirable_at is None:
        raise Conflict(f"Key {kid} signs new tokens; run `flask keys rotate` first, then retire it")
    if not force and state.retirable_at > datetime.now(UTC):
        raise Conflict(
            f"Tokens signed by key {kid} may be valid until {state.retirable_at:%Y-%m-%d %H:%M} UTC; "
            "retire it then, or give --force to end them now"
        )
    ring = key_ring()
    remove(ring.folder, kid)
    ring.refresh()
    audit.record("signing_key_retired", warning=True, kid=kid, forced=force)
    return state
