"""What can go wrong when asking movies_auth, as exceptions a service can catch."""

from __future__ import annotations


class AuthClientError(Exception):
    """Base of every exception this library raises."""


class InvalidToken(AuthClientError):
    """The caller's token is malformed, expired, revoked or forged: answer 401."""

    def __init__(self, detail: str = "Invalid token") -> None:
        super().__init__(detail)
        self.detail = detail


class AuthUnavailable(AuthClientError):
    """movies_auth could not give an answer (down, slow, broken, or the breaker is open): no grant."""


class ServiceTokenUnavailable(AuthUnavailable):
    """movies_auth gave this service no token: unreachable, refusing the secret, or answering nonsense."""
