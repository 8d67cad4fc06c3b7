"""The app's social sign-in providers: any OpenID Connect provider by discovery, Yandex ID and VK ID, all driven
by Authlib, chosen and checked from the settings.

`yandex` and `vk` name the built-in adapters (`yandex.py`, `vk.py`); any other name is an OpenID Connect provider
(`oidc.py`). What they share is in `oauth2.py`, who signed in in `identity.py`, the failures in `errors.py`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, current_app

from movies_auth.domain.errors import NotFound
from movies_auth.domain.oauth_providers.oauth2 import Provider
from movies_auth.domain.oauth_providers.oidc import OpenIDConnectProvider
from movies_auth.domain.oauth_providers.vk import VKProvider
from movies_auth.domain.oauth_providers.yandex import YandexProvider
from movies_auth.oauth_settings import variable

if TYPE_CHECKING:
    from movies_auth.settings import Settings

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
BUILT_IN: dict[str, type[Provider]] = {"yandex": YandexProvider, "vk": VKProvider}
ENDPOINT_SETTINGS = ("DISCOVERY_URL", "AUTHORIZE_URL", "TOKEN_URL", "USERINFO_URL")


def adapter(name: str) -> type[Provider]:
    """The class serving the provider `name`: a built-in adapter, or OpenID Connect."""
    return BUILT_IN.get(name, OpenIDConnectProvider)


def provider_config(settings: Settings, name: str) -> dict[str, str]:
    """A provider's settings: its OAUTH_<NAME>_* variables over its adapter's built-in defaults."""
    prefix = f"{name.upper()}_"
    given = {k.removeprefix(prefix): v for k, v in settings.oauth_provider_settings.items() if k.startswith(prefix)}
    return adapter(name).built_in | {k: v for k, v in given.items() if v}


def check_settings(settings: Settings) -> None:
    """Refuse a misconfigured provider at start-up, naming the setting to fix (`ValueError`)."""
    names = settings.oauth_provider_names
    for name in names:
        if not NAME.fullmatch(name):
            raise ValueError(f"OAUTH_PROVIDERS: {name!r} is not a provider name (a-z, 0-9 and _, 32 at most)")
        config = provider_config(settings, name)
        for key in adapter(name).required_settings:
            if not config.get(key):
                raise ValueError(f"{variable(name, key)} must be set: OAUTH_PROVIDERS names {name!r}")
        for key in ENDPOINT_SETTINGS:
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
        name: adapter(name)(name, provider_config(settings, name), settings.oauth_timeout)
        for name in settings.oauth_provider_names
    }


def configured() -> dict[str, Provider]:
    """The providers of the current app, in configuration order."""
    providers: dict[str, Provider] = current_app.extensions["oauth_providers"]
    return providers


def get(name: str) -> Provider:
    """The configured provider `name`; 404 for any other."""
    provider = configured().get(name)
    if provider is None:
        raise NotFound("No such sign-in provider")
    return provider
