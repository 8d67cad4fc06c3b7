"""Breached passwords: the k-anonymity range API (Pwned Passwords) tells whether a password appeared in a breach.

Only the first five hex characters of the password's SHA-1 leave the service; the API answers every suffix
it knows under that prefix, padded with decoys, and the match is made here.
"""

from __future__ import annotations

import hashlib
import logging

import httpx

from movies_auth.domain import audit
from movies_auth.domain.errors import BadRequest, DomainError
from movies_auth.extensions import current_settings

log = logging.getLogger(__name__)

PREFIX_LENGTH = 5
BREACHED = "This password has appeared in a data breach; choose another one."


class BreachCheckUnavailable(DomainError):
    """The range API could not be asked, and the service is set to refuse new passwords until it can."""

    status_code = 503
    headers = (("Retry-After", "30"),)

    def __init__(self) -> None:
        super().__init__("Cannot check new passwords against known breaches right now, try again shortly")


def refuse_breached(password: str, field: str) -> None:
    """400 naming `field` when `password` is known breached; what an unreachable API means follows the settings."""
    settings = current_settings()
    if not settings.pwned_passwords_url:
        return
    digest = hashlib.sha1(password.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:]
    try:
        response = httpx.get(
            settings.pwned_passwords_url + prefix,
            headers={"Add-Padding": "true", "User-Agent": "movies_auth"},
            timeout=settings.pwned_passwords_timeout,
        )
        response.raise_for_status()
    except httpx.HTTPError as error:
        log.warning("Breached-password check unavailable (%s): %s", type(error).__name__, error)
        if settings.pwned_passwords_fail_closed:
            raise BreachCheckUnavailable() from error
        return
    if _is_listed(response.text, suffix):
        audit.record("breached_password_refused", field=field)
        raise BadRequest("Password is known to be breached", {field: [BREACHED]})


def _is_listed(body: str, suffix: str) -> bool:
    """Whether `suffix` is in the answer with a count above zero (padding lines count zero)."""
    for line in body.splitlines():
        candidate, _, count = line.strip().partition(":")
        if candidate.upper() == suffix:
            return count.strip().isdigit() and int(count) > 0
    return False
