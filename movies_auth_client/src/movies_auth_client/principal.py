"""The caller a framework helper lets through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from movies_auth_client.tokens import subject, unverified_claims

BEARER_PREFIX = "bearer "


@dataclass(frozen=True, slots=True)
class Principal:
    """A user whose token movies_auth accepted and whose permissions satisfied the condition."""

    user_id: uuid.UUID
    token: str

    @classmethod
    def of(cls, token: str) -> Principal:
        """The principal of a token movies_auth has just vouched for."""
        return cls(subject(unverified_claims(token)), token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one (or with another scheme)."""
    if not authorization or not authorization[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return None
    return authorization[len(BEARER_PREFIX) :].strip() or None
