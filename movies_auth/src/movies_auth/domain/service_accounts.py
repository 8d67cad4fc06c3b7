"""Service accounts: register a service, trade its secret for service tokens, rotate the secret, delete it.

A secret is 256 random bits shown once; only a keyed HMAC-SHA256 of it is kept (docs/service-accounts.md
says why that, not argon2). Rotating the secret or deleting the service ends every service token it holds,
as logging out everywhere does for a user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select

from movies_auth.domain import audit, tokens
from movies_auth.domain.errors import BadRequest, Conflict, NotFound
from movies_auth.domain.passwords import passwords
from movies_auth.extensions import db
from movies_auth.models import ServiceAccount, utcnow
from movies_auth.stores.persistence import commit_unique, find_by_name

SECRET_HASH_PREFIX = "$hmac-sha256$"  # noqa: S105 (a format marker)
SECRET_MIN_LENGTH = 32


class ServiceNameTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("A service with this name already exists")


def new_secret() -> str:
    """A fresh service secret: 256 random bits in 43 url-safe characters."""
    return secrets.token_urlsafe(32)


def list_services() -> list[ServiceAccount]:
    """Every service account, by name."""
    return list(db.session.scalars(select(ServiceAccount).order_by(ServiceAccount.name)))


def get_service(name: str) -> ServiceAccount:
    """The service with this name, or 404."""
    service = find_by_name(ServiceAccount, name)
    if service is None:
        raise NotFound(f"No service named {name!r}")
    return service


def create(name: str, secret: str | None = None) -> tuple[ServiceAccount, str]:
    """Register a service; its secret (given, or made here) comes back this once."""
    secret = _checked(secret) if secret is not None else new_secret()
    service = ServiceAccount(name=name, secret_hash=secret_hash(secret))
    db.session.add(service)
    commit_unique(ServiceNameTaken)
    audit.record("service_created", service=name)
    return service, secret


def ensure(name: str, secret: str) -> str:
    """Make the service exist with exactly this secret (for deployments); `created`, `updated` or `unchanged`."""
    secret = _checked(secret)
    try:
        service = get_service(name)
    except NotFound:
        create(name, secret)
        return "created"
    if _matches(service, secret):
        return "unchanged"
    _set_secret(service, secret)
    return "updated"


def rotate_secret(service: ServiceAccount) -> str:
    """Give the service a new secret, shown this once; every token it holds dies."""
    secret = new_secret()
    _set_secret(service, secret)
    return secret


def delete(service: ServiceAccount) -> None:
    """Remove the service; every token it holds dies."""
    db.session.delete(service)
    db.session.commit()
    tokens.revoke_service_tokens(service.id)
    audit.record("service_deleted", warning=True, service=service.name)


def authenticate(name: str, secret: str) -> ServiceAccount | None:
    """The service these credentials belong to, or None; both answers cost one HMAC."""
    candidate = secret_hash(secret)
    service = find_by_name(ServiceAccount, name)
    if service is None or not _matches(service, secret, candidate):
        audit.record("service_token_refused", warning=True, service=service.name if service else None)
        return None
    return service


def secret_hash(secret: str) -> str:
    """What is kept of a service secret: its HMAC-SHA256 under the app's service-secret key."""
    digest = hmac.new(current_app.extensions["service_secret_key"], secret.encode(), hashlib.sha256).hexdigest()
    return SECRET_HASH_PREFIX + digest


def _matches(service: ServiceAccount, secret: str, candidate: str | None = None) -> bool:
    """Whether `secret` is the service's; an argon2 hash from before is checked once, then replaced by the HMAC."""
    candidate = candidate or secret_hash(secret)
    if service.secret_hash.startswith(SECRET_HASH_PREFIX):
        return hmac.compare_digest(service.secret_hash, candidate)
    if not passwords().verify(service.secret_hash, secret):
        return False
    service.secret_hash = candidate
    db.session.commit()
    audit.record("service_secret_hash_upgraded", service=service.name)
    return True


def _set_secret(service: ServiceAccount, secret: str) -> None:
    service.secret_hash = secret_hash(secret)
    service.secret_changed_at = utcnow()
    db.session.commit()
    tokens.revoke_service_tokens(service.id)
    audit.record("service_secret_changed", warning=True, service=service.name)


def _checked(secret: str) -> str:
    if len(secret) < SECRET_MIN_LENGTH:
        raise BadRequest(f"A service secret must be at least {SECRET_MIN_LENGTH} characters")
    return secret
