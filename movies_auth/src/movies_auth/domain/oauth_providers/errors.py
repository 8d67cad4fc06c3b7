"""What can go wrong talking to a sign-in provider, as the answers the API gives: 502 or 400."""

from __future__ import annotations

from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from joserfc.errors import JoseError

from movies_auth.domain.errors import BadRequest, DomainError


class ProviderUnavailable(DomainError):
    """The provider could not be reached, or answered something that is not its protocol."""

    status_code = 502

    def __init__(self, provider: str) -> None:
        super().__init__(f"The sign-in provider {provider!r} did not answer properly; try again later")


class SignInRefused(BadRequest):
    """The provider refused the sign-in, or what it sent does not prove who signed in."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Social sign-in failed: {reason}")


class provider_calls:  # a context manager named for how it reads: `with provider_calls(name):`
    """Turn what can go wrong talking to a provider into the answers the API gives: 502 or 400."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, _traceback: Any) -> None:
        if error is None or isinstance(error, DomainError):
            return
        if isinstance(error, JoseError):
            raise SignInRefused(f"the ID token is not valid ({error.description or error.error})") from error
        if isinstance(error, OAuthError):
            raise SignInRefused(f"the provider refused the code ({error.error})") from error
        if isinstance(error, requests.HTTPError) and error.response is not None and error.response.status_code < 500:
            raise SignInRefused(f"the provider answered {error.response.status_code}") from error
        if isinstance(error, (requests.RequestException, ValueError, KeyError, TypeError, RuntimeError)):
            raise ProviderUnavailable(self.name) from error
