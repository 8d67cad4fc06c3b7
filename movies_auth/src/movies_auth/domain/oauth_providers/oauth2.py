"""What every provider shares: an Authlib OAuth 2.0 client doing the code flow with PKCE (S256).

A provider builds its authorization URL and turns a callback's code into an `Identity`; each adapter says where
its endpoints are, how the client proves itself at the token endpoint, and how to read who signed in.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client.integration import FlaskIntegration

from movies_auth.domain.oauth_providers.errors import ProviderUnavailable, SignInRefused, provider_calls
from movies_auth.domain.oauth_providers.identity import Identity


class Provider:
    """One configured provider: builds its authorization URL and turns a code into an `Identity`."""

    kind = "oauth2"
    # The OAUTH_<NAME>_* settings an operator must give, and the defaults of the others.
    required_settings: ClassVar[tuple[str, ...]] = ("CLIENT_ID", "CLIENT_SECRET")
    built_in: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str, config: dict[str, str], timeout: float) -> None:
        self.name = name
        self.client_id = config["CLIENT_ID"]
        # Where a plain OAuth 2.0 adapter asks who signed in; OpenID Connect reads the ID token instead.
        self.userinfo_url = config.get("USERINFO_URL", "")
        self.client = FlaskOAuth2App(
            FlaskIntegration(name),
            name=name,
            client_id=self.client_id,
            client_secret=config.get("CLIENT_SECRET") or None,
            **self._endpoints(config),
            client_kwargs={
                "scope": config.get("SCOPE") or self.default_scope(config),
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": self.token_auth_method(config),
                "default_timeout": timeout,
            },
        )

    def default_scope(self, config: dict[str, str]) -> str:
        return config["SCOPE"]

    def token_auth_method(self, config: dict[str, str]) -> str:
        return "client_secret_post"

    def _endpoints(self, config: dict[str, str]) -> dict[str, Any]:
        return {"authorize_url": config["AUTHORIZE_URL"], "access_token_url": config["TOKEN_URL"]}

    def authorization(self, callback_url: str, state: str) -> dict[str, str]:
        """The provider's authorization URL for this sign-in, and what the callback needs: PKCE verifier, nonce."""
        with provider_calls(self.name):
            authorization: dict[str, str] = self.client.create_authorization_url(callback_url, state=state)
        return authorization

    def identity(self, callback: dict[str, Any], callback_url: str, *, verifier: str, nonce: str | None) -> Identity:
        """Exchange the callback's code (with the PKCE verifier) and tell who signed in."""
        with provider_calls(self.name):
            token = self.client.fetch_access_token(
                callback_url, code=callback["code"], code_verifier=verifier, **self.token_parameters(callback)
            )
            return self.read_identity(token, nonce)

    def token_parameters(self, callback: dict[str, Any]) -> dict[str, str]:
        return {}

    def read_identity(self, token: dict[str, Any], nonce: str | None) -> Identity:
        raise NotImplementedError

    def _json(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            raise ProviderUnavailable(self.name)
        if response.status_code >= 400:
            raise SignInRefused(f"the provider refused the access token ({response.status_code})")
        try:
            body = response.json()
        except ValueError as error:
            raise ProviderUnavailable(self.name) from error
        if not isinstance(body, dict):
            raise ProviderUnavailable(self.name)
        return body
