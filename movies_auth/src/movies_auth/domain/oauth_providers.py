"""Social sign-in providers: any OpenID Connect provider by discovery, Yandex ID and VK ID, all driven by Authlib.

Each provider turns an authorization code into an `Identity`: the provider's stable id of the person (never the
app's `client_id`, never an email), and the email only with the provider's word that it was verified. The
protocol itself (PKCE, the token request, ID token signature and claims) is Authlib's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client.integration import FlaskIntegration
from flask import Flask, current_app
from joserfc.errors import JoseError

from movies_auth.domain.errors import BadRequest, DomainError, NotFound
from movies_auth.oauth_settings import variable

if TYPE_CHECKING:
    from movies_auth.settings import Settings

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
YANDEX, VK = "yandex", "vk"
BUILT_IN_ENDPOINTS = {
    YANDEX: {
        "AUTHORIZE_URL": "https://oauth.yandex.ru/authorize",
        "TOKEN_URL": "https://oauth.yandex.ru/token",
        "USERINFO_URL": "https://login.yandex.ru/info?format=json",
        "SCOPE": "login:email login:info",
    },
    VK: {
        "AUTHORIZE_URL": "https://id.vk.com/authorize",
        "TOKEN_URL": "https://id.vk.com/oauth2/auth",
        "USERINFO_URL": "https://id.vk.com/oauth2/user_info",
        "SCOPE": "email",
    },
}
OIDC_SCOPE = "openid email profile"
# The ID token's clock may be this far from ours (seconds).
ID_TOKEN_LEEWAY = 60


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool
    first_name: str | None = None
    last_name: str | None = None


class ProviderUnavailable(DomainError):
    """The provider could not be reached, or answered something that is not its protocol."""

    status_code = 502

    def __init__(self, provider: str) -> None:
        super().__init__(f"The sign-in provider {provider!r} did not answer properly; try again later")


class SignInRefused(BadRequest):
    """The provider refused the sign-in, or what it sent does not prove who signed in."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Social sign-in failed: {reason}")


class Provider:
    """One configured provider: builds its authorization URL and turns a code into an `Identity`."""

    kind = "oauth2"

    def __init__(self, name: str, config: dict[str, str], timeout: float) -> None:
        self.name = name
        self.client_id = config["CLIENT_ID"]
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
            return self.client.create_authorization_url(callback_url, state=state)

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


class OpenIDConnectProvider(Provider):
    """Any OpenID Connect provider, found by its discovery document; who signed in is the verified ID token."""

    kind = "oidc"

    def default_scope(self, config: dict[str, str]) -> str:
        return OIDC_SCOPE

    def token_auth_method(self, config: dict[str, str]) -> str:
        return "client_secret_basic"

    def _endpoints(self, config: dict[str, str]) -> dict[str, Any]:
        return {"server_metadata_url": config["DISCOVERY_URL"]}

    def read_identity(self, token: dict[str, Any], nonce: str | None) -> Identity:
        if "id_token" not in token:
            raise SignInRefused("the provider sent no ID token")
        issuer = self.client.load_server_metadata().get("issuer")
        options = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": self.client_id}}
        claims = self.client.parse_id_token(token, nonce=nonce, claims_options=options, leeway=ID_TOKEN_LEEWAY)
        if "email" not in claims and self.client.load_server_metadata().get("userinfo_endpoint"):
            info = self.client.userinfo(token=token)
            if info.get("sub") == claims["sub"]:
                claims = {**info, **claims}
        return Identity(
            subject=_text(claims.get("sub")),
            email=_email(claims.get("email")),
            email_verified=claims.get("email_verified") is True,
            first_name=_name(claims.get("given_name")),
            last_name=_name(claims.get("family_name")),
        )


class YandexProvider(Provider):
    """Yandex ID: the person is `id` of login.yandex.ru/info (its `client_id` is our app's), the address
    `default_email`, which Yandex has confirmed."""

    def __init__(self, name: str, config: dict[str, str], timeout: float) -> None:
        super().__init__(name, config, timeout)
        self.userinfo_url = config["USERINFO_URL"]

    def read_identity(self, token: dict[str, Any], nonce: str | None) -> Identity:
        response = self.client.get(
            self.userinfo_url,
            token=token,
            withhold_token=True,
            headers={"Authorization": f"OAuth {token['access_token']}"},
        )
        info = self._json(response)
        return Identity(
            subject=_text(info.get("id")),
            email=_email(info.get("default_email")),
            email_verified=True,
            first_name=_name(info.get("first_name")),
            last_name=_name(info.get("last_name")),
        )


class VKProvider(Provider):
    """VK ID (OAuth 2.1): the code comes with a `device_id` the token request repeats; the person is
    `user.user_id` of /oauth2/user_info, the address `user.email`, one VK has confirmed."""

    def __init__(self, name: str, config: dict[str, str], timeout: float) -> None:
        super().__init__(name, config, timeout)
        self.userinfo_url = config["USERINFO_URL"]

    def token_auth_method(self, config: dict[str, str]) -> str:
        # VK ID proves the client with PKCE; a secret, when one is set, goes in the body.
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
            subject=_text(user.get("user_id")),
            email=_email(user.get("email")),
            email_verified=bool(user.get("email")),
            first_name=_name(user.get("first_name")),
            last_name=_name(user.get("last_name")),
        )


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


def _text(value: Any) -> str:
    """A subject as stored: the provider's id as text (VK sends numbers); empty means no id at all."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise SignInRefused("the provider did not say who signed in")
    text = str(value)
    if len(text) > 255:
        raise SignInRefused("the provider's user id is too long")
    return text


def _email(value: Any) -> str | None:
    return value if isinstance(value, str) and 3 <= len(value) <= 254 and "@" in value else None


def _name(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) and value.strip() else None


PROVIDER_CLASSES = {YANDEX: YandexProvider, VK: VKProvider}


def provider_config(settings: Settings, name: str) -> dict[str, str]:
    """A provider's settings: its OAUTH_<NAME>_* variables over the built-in defaults of Yandex and VK."""
    prefix = f"{name.upper()}_"
    given = {k.removeprefix(prefix): v for k, v in settings.oauth_provider_settings.items() if k.startswith(prefix)}
    return BUILT_IN_ENDPOINTS.get(name, {}) | {k: v for k, v in given.items() if v}


def check_settings(settings: Settings) -> None:
    """Refuse a misconfigured provider at start-up, naming the setting to fix (`ValueError`)."""
    names = settings.oauth_provider_names
    for name in names:
        if not NAME.fullmatch(name):
            raise ValueError(f"OAUTH_PROVIDERS: {name!r} is not a provider name (a-z, 0-9 and _, 32 at most)")
        config = provider_config(settings, name)
        required = ["CLIENT_ID"] + ([] if name == VK else ["CLIENT_SECRET"])
        required += [] if name in BUILT_IN_ENDPOINTS else ["DISCOVERY_URL"]
        for key in required:
            if not config.get(key):
                raise ValueError(f"{variable(name, key)} must be set: OAUTH_PROVIDERS names {name!r}")
        for key in ("DISCOVERY_URL", "AUTHORIZE_URL", "TOKEN_URL", "USERINFO_URL"):
            if key in config and not _is_url(config[key], https=settings.app_env == "production"):
                raise ValueError(f"{variable(name, key)} must be an absolute https:// URL (http:// outside production)")
    if len(set(names)) != len(names):
        raise ValueError("OAUTH_PROVIDERS names a provider twice")
    for prefix in settings.oauth_redirect_prefixes:
        if not _is_url(prefix, https=False) or urlsplit(prefix).query or urlsplit(prefix).fragment:
            raise ValueError(f"OAUTH_REDIRECT_ALLOWLIST: {prefix!r} is not an absolute URL without query or fragment")


def _is_url(value: str, *, https: bool) -> bool:
    parts = urlsplit(value)
    schemes = ("https",) if https else ("http", "https")
    return parts.scheme in schemes and bool(parts.hostname) and parts.username is None


def init_app(app: Flask, settings: Settings) -> None:
    """Build the app's configured providers."""
    app.extensions["oauth_providers"] = {
        name: PROVIDER_CLASSES.get(name, OpenIDConnectProvider)(
            name, provider_config(settings, name), settings.oauth_timeout
        )
        for name in settings.oauth_provider_names
    }


def configured() -> dict[str, Provider]:
    """The providers of the current app, in configuration order."""
    return current_app.extensions["oauth_providers"]


def get(name: str) -> Provider:
    """The configured provider `name`; 404 for any other."""
    provider = configured().get(name)
    if provider is None:
        raise NotFound("No such sign-in provider")
    return provider
