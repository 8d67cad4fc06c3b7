"""Who signed in, as a provider tells it: the provider's stable id of the person, and what else it vouches for.

The id is never the app's `client_id` nor an email. The readers turn a provider's loosely typed fields into what
the service stores, refusing a sign-in that does not say who signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from movies_auth.domain.oauth_providers.errors import SignInRefused

SUBJECT_MAX_LENGTH = 255
NAME_MAX_LENGTH = 100


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool
    first_name: str | None = None
    last_name: str | None = None


def subject_of(value: Any) -> str:
    """A subject as stored: the provider's id as text (VK sends numbers); no id at all refuses the sign-in."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise SignInRefused("the provider did not say who signed in")
    text = str(value)
    if len(text) > SUBJECT_MAX_LENGTH:
        raise SignInRefused("the provider's user id is too long")
    return text


def email_of(value: Any) -> str | None:
    """An email address as the provider sent it, or None for anything that is not one."""
    return value if isinstance(value, str) and 3 <= len(value) <= 254 and "@" in value else None


def name_of(value: Any) -> str | None:
    """A first or last name, cut to what the account keeps; None when empty or not text."""
    return value[:NAME_MAX_LENGTH] if isinstance(value, str) and value.strip() else None
