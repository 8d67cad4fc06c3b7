"""Any OpenID Connect provider (Google is one), found by its discovery document."""

from __future__ import annotations

from typing import Any, ClassVar

from movies_auth.domain.oauth_providers.errors import SignInRefused
from movies_auth.domain.oauth_providers.identity import Identity, email_of, name_of, subject_of
from movies_auth.domain.oauth_providers.oauth2 import Provider

OIDC_SCOPE = "openid email profile"
# The ID token's clock may be this far from ours (seconds).
ID_TOKEN_LEEWAY = 60


class OpenIDConnectProvider(Provider):
    """Any OpenID Connect provider, found by its discovery document; who signed in is the verified ID token."""

    kind = "oidc"
    required_settings: ClassVar[tuple[str, ...]] = ("CLIENT_ID", "CLIENT_SECRET", "DISCOVERY_URL")

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
            subject=subject_of(claims.get("sub")),
            email=email_of(claims.get("email")),
            email_verified=claims.get("email_verified") is True,
            first_name=name_of(claims.get("given_name")),
            last_name=name_of(claims.get("family_name")),
        )
