"""Password hashing with argon2id, and verification that costs the same whether or not the user exists."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

from movies_auth.settings import Settings


class Passwords:
    """The app's argon2id hasher at the configured parameters."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so both answers cost one verification:
        # made up front, or the first unknown email a worker sees would cost two hashes.
        self._dummy_hash = self.hasher.hash("no account has this password")

    def hash(self, password: str) -> str:
        """A fresh argon2id hash of `password`."""
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash, spend the same time and say no."""
        try:
            return self.hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        return self.hasher.check_needs_rehash(password_hash)


def init_app(app: Flask, settings: Settings) -> None:
    """Bind a hasher built from `settings` to the app."""
    app.extensions["passwords"] = Passwords(settings)


def passwords() -> Passwords:
    """The current app's hasher."""
    return current_app.extensions["passwords"]
