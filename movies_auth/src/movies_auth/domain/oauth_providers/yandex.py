"""Yandex ID: OAuth 2.0 with PKCE, and who signed in from login.yandex.ru/info."""

from __future__ import annotations

from typing import Any, ClassVar

from movies_auth.domain.oauth_providers.identity import Identity, email_of, name_of, subject_of
from movies_auth.domain.oauth_providers.oauth2 import Provider


class YandexProvider(Provider):
    """Yandex ID: the person is `id` of login.yandex.ru/info (its `client_id` is our app's), the address
    `default_email`, which Yandex has confirmed."""

    built_in: ClassVar[dict[str, str]] = {
        "AUTHORIZE_URL": "https://oauth.yandex.ru/authorize",
        "TOKEN_URL": "https://oauth.yandex.ru/token",
        "USERINFO_URL": "https://login.yandex.ru/info?format=json",
        "SCOPE": "login:email login:info",
    }

    def read_identity(self, token: dict[str, Any], nonce: str | None) -> Identity:
        response = self.client.get(
            self.userinfo_url,
            token=token,
            withhold_token=True,
            headers={"Authorization": f"OAuth {token['access_token']}"},
        )
        info = self._json(response)
        return Identity(
            subject=subject_of(info.get("id")),
            email=email_of(info.get("default_email")),
            email_verified=True,
            first_name=name_of(info.get("first_name")),
            last_name=name_of(info.get("last_name")),
        )
