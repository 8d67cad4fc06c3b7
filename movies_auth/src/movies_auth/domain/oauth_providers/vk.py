"""VK ID (OAuth 2.1): PKCE in place of a client secret, a `device_id` with the code, who signed in from
/oauth2/user_info."""

from __future__ import annotations

from typing import Any, ClassVar

from movies_auth.domain.errors import BadRequest
from movies_auth.domain.oauth_providers.errors import ProviderUnavailable
from movies_auth.domain.oauth_providers.identity import Identity, email_of, name_of, subject_of
from movies_auth.domain.oauth_providers.oauth2 import Provider


class VKProvider(Provider):
    """VK ID (OAuth 2.1): the code comes with a `device_id` the token request repeats; the person is
    `user.user_id` of /oauth2/user_info, the address `user.email`, one VK has confirmed."""

    # VK ID proves the client with PKCE: the secret is optional.
    required_settings: ClassVar[tuple[str, ...]] = ("CLIENT_ID",)
    built_in: ClassVar[dict[str, str]] = {
        "AUTHORIZE_URL": "https://id.vk.com/authorize",
        "TOKEN_URL": "https://id.vk.com/oauth2/auth",
        "USERINFO_URL": "https://id.vk.com/oauth2/user_info",
        "SCOPE": "email",
    }

    def token_auth_method(self, config: dict[str, str]) -> str:
        # A secret, when one is set, goes in the body.
        return "client_secret_post" if config.get("CLIENT_SECRET") else "none"

    def token_parameters(self, callback: dict[str, Any]) -> dict[str, str]:
        if not callback.get("device_id"):
            raise BadRequest("Invalid input", {"device_id": ["VK ID sends it with the code; it is missing."]})
        return {"device_id": callback["device_id"], "state": callback["state"]}

    def read_identity(self, token: dict[str, Any], nonce: str | None) -> Identity:
        response = self.client.post(
            self.userinfo_url,
            token=token,
            withhold_token=True,
            data={"client_id": self.client_id, "access_token": token["access_token"]},
        )
        user = self._json(response).get("user")
        if not isinstance(user, dict):
            raise ProviderUnavailable(self.name)
        return Identity(
            subject=subject_of(user.get("user_id")),
            email=email_of(user.get("email")),
            email_verified=bool(user.get("email")),
            first_name=name_of(user.get("first_name")),
            last_name=name_of(user.get("last_name")),
        )
