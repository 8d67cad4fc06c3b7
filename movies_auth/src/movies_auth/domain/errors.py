"""The refusals the domain makes: a message meant for whoever asked, and the HTTP status the web layer answers with."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a message meant for the caller: the web layer answers `status_code`, the CLI prints `msg`."""

    status_code = 400
    headers: tuple[tuple[str, str], ...] = ()

    def __init__(self, msg: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.errors = errors


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409
