"""Social sign-in (DESIGN §8): start at a provider, come back to the callback, trade a one-time code for tokens;
and the identities linked to an account."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from werkzeug.wrappers import Response as BaseResponse

from movies_auth.domain import accounts, oauth_binding, oauth_flow, oauth_providers, social_accounts, tokens
from movies_auth.domain.errors import BadRequest, DomainError, Forbidden, Unauthorized
from movies_auth.domain.oauth_providers.errors import ProviderUnavailable, SignInRefused
from movies_auth.domain.oauth_providers.oauth2 import Provider
from movies_auth.extensions import current_settings, limiter
from movies_auth.models import SocialAccount, User
from movies_auth.observability import metrics
from movies_auth.observability.request_context import client_ip
from movies_auth.web.errors import ERROR_DESCRIPTION_UNSAFE
from movies_auth.web.guards import owner_required
from movies_auth.web.openapi import accepts, may_fail_with, responds
from movies_auth.web.schemas import (
    OAuthCallbackQuerySchema,
    OAuthCodeSchema,
    OAuthLoginQuerySchema,
    OAuthProviderSchema,
    SocialAccountSchema,
    TokenPairSchema,
)
from movies_auth.web.views.users import user_api_services

bp = Blueprint("oauth", __name__, url_prefix="/auth/api/v1")

_per_client = limiter.shared_limit(
    lambda: current_settings().oauth_rate_limit_per_ip, scope="oauth-ip", key_func=client_ip
)
# What a browser must not keep, nor pass on in a Referer: tokens, one-time codes.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.get("/oauth/providers")
@responds(200, OAuthProviderSchema, many=True)
def list_providers() -> list[dict]:
    """The configured social sign-in providers, and where a sign-in with each starts (on `PUBLIC_URL`)."""
    return [{"name": name, "login_url": oauth_flow.login_url(name)} for name in oauth_providers.configured()]


@bp.get("/oauth/<provider>/login")
@_per_client
@accepts(OAuthLoginQuerySchema, location="query")
@responds(302, errors=[401, 404, 422, 429, 502, 503])
def start_sign_in(provider: str, data: dict) -> BaseResponse:
    """Start a social sign-in: 302 to the provider, with `state`, PKCE (S256) and, for OpenID Connect, a nonce.

    With `redirect_uri` (on `OAUTH_REDIRECT_ALLOWLIST`) the callback sends the browser back there with a one-time
    `code` for `POST /auth_token/oauth`; without, the callback answers the tokens itself. With `link=true` and the
    user's access token as Bearer, the callback links the identity to that account instead of signing in.
    Sets a cookie (HttpOnly, SameSite=Lax, path `/auth/api/v1/oauth/`, 10 minutes) that binds the sign-in to this
    browser: the callback is refused without it, so open the login URL in the browser that will come back.
    Limited per client address (`OAUTH_RATE_LIMIT_PER_IP`): each start keeps a few hundred bytes for 10 minutes;
    and across all callers at most `OAUTH_MAX_PENDING` sign-ins wait for their callback (beyond: 503, `Retry-After`).
    A `redirect_uri` may not carry `code`, `linked`, `error` or `error_description`: the callback adds them.
    """
    chosen = oauth_providers.get(provider)
    if "redirect_uri" in data:
        oauth_flow.check_redirect_uri(data["redirect_uri"])
    linking = _linking_user() if data["link"] else None
    url, binding = oauth_flow.start(chosen, request, redirect_uri=data.get("redirect_uri"), linking=linking)
    response = redirect(url, 302)
    oauth_binding.attach(response, binding, request, oauth_flow.state_ttl())
    return response


def _linking_user() -> oauth_flow.Linking:
    """The account a link is asked for, and the session asking: the bearer of a live user access token."""
    verify_jwt_in_request()
    claims = get_jwt()
    if tokens.is_service_token(claims):
        raise Forbidden("Service tokens may not link social accounts")
    if claims.get(tokens.TYPE_CLAIM) != "access":
        raise Unauthorized("Only access tokens are allowed")
    return oauth_flow.Linking(claims["sub"], claims[tokens.SESSION_CLAIM])


@bp.get("/oauth/<provider>/callback")
@_per_client
@accepts(OAuthCallbackQuerySchema, location="query")
@responds(200, TokenPairSchema, also={201: SocialAccountSchema, 302: None}, errors=[404, 409, 429, 502])
def callback(provider: str, data: dict) -> tuple[object, int] | BaseResponse:
    """Where the provider sends the browser back: the sign-in's `state` is used up, the code exchanged.

    Signs in the account linked to the identity, or makes one for a provider-verified email no account holds
    (without a password); an account holding that email is never linked automatically (409). Answers the token
    pair (200), or 302 to the sign-in's `redirect_uri` with a one-time `code`; a link answers 201 (or 302 with
    `linked=<provider>`). A used, expired or forged `state` is 400, and so is a callback without the cookie the
    start set in the browser (another browser's callback: the state is used up all the same); a provider that
    fails is 502. A sign-in started with a `redirect_uri` that fails once its state is used up goes back there
    instead: 302 with `error` (`access_denied`, `temporarily_unavailable`, `account_exists`, `already_linked`,
    `email_not_verified`, `browser_mismatch`, `login_required`, `invalid_request`) and `error_description`.
    The answer clears the sign-in's cookie.
    """
    chosen = oauth_providers.get(provider)
    g.oauth_state_used = data["state"]  # from here on the state is used up: its cookie goes with the answer
    try:
        started = oauth_flow.finish(provider, data["state"], request)
    except oauth_flow.NotThisBrowser as error:
        if error.redirect_uri:
            return _redirect_failure(error.redirect_uri, error)
        raise
    try:
        return _finish(chosen, started, data)
    except DomainError as error:
        metrics.SOCIAL_LOGINS.labels(provider, _outcome_of(error)).inc()
        if started.redirect_uri:
            return _redirect_failure(started.redirect_uri, error)
        raise


def _finish(chosen: Provider, started: oauth_flow.Started, data: dict) -> tuple[object, int] | BaseResponse:
    provider = chosen.name
    if "error" in data:
        raise SignInRefused(f"the provider answered {data['error']!r}")
    identity = chosen.identity(data, oauth_flow.callback_url(provider), verifier=started.verifier, nonce=started.nonce)
    if started.linking is not None:
        # The session that asked must still be alive: a sign-out since then cancels the link.
        if tokens.is_revoked({"sub": started.linking.user_id, tokens.SESSION_CLAIM: started.linking.session_id}):
            raise oauth_flow.LinkSessionEnded()
        record = social_accounts.link(started.linking.user_id, provider, identity)
        metrics.SOCIAL_LOGINS.labels(provider, "linked").inc()
        if started.redirect_uri:
            return _redirect(oauth_flow.with_parameters(started.redirect_uri, linked=provider))
        return record, 201
    ip_address, user_agent = client_ip(), request.user_agent.string
    user, outcome = social_accounts.sign_in(provider, identity, ip_address=ip_address, user_agent=user_agent)
    metrics.SOCIAL_LOGINS.labels(provider, outcome).inc()
    if started.redirect_uri:
        code = oauth_flow.issue_code(user.id, provider)
        return _redirect(oauth_flow.with_parameters(started.redirect_uri, code=code))
    pair = tokens.start_session(user.id, ip_address=ip_address, user_agent=user_agent, method=f"oauth:{provider}")
    return pair, 200


# The `error` a failed sign-in sends a browser app: RFC 6749 §4.1.2.1 codes where one fits, else the service's own.
_REDIRECT_ERRORS: tuple[tuple[type[DomainError], str], ...] = (
    (ProviderUnavailable, "temporarily_unavailable"),
    (SignInRefused, "access_denied"),
    (social_accounts.EmailHeldByAnotherAccount, "account_exists"),
    (social_accounts.IdentityLinkedElsewhere, "already_linked"),
    (social_accounts.ProviderAlreadyLinked, "already_linked"),
    (social_accounts.EmailNotVouched, "email_not_verified"),
    (oauth_flow.NotThisBrowser, "browser_mismatch"),
    (oauth_flow.LinkSessionEnded, "login_required"),
)
_DESCRIPTION_MAX_LENGTH = 300


def _redirect_error(error: DomainError) -> str:
    """The `error` code a browser app is sent back with for this failure."""
    for kind, code in _REDIRECT_ERRORS:
        if isinstance(error, kind):
            return code
    return "server_error" if error.status_code >= 500 else "invalid_request"


def _redirect_failure(redirect_uri: str, error: DomainError) -> BaseResponse:
    """302 to the sign-in's allow-listed `redirect_uri` with `error` and `error_description`, never a token."""
    description = ERROR_DESCRIPTION_UNSAFE.sub("", error.msg)[:_DESCRIPTION_MAX_LENGTH]
    return _redirect(
        oauth_flow.with_parameters(redirect_uri, error=_redirect_error(error), error_description=description)
    )


def _redirect(url: str) -> BaseResponse:
    response = redirect(url, 302)
    response.headers.update(_PRIVATE)
    return response


def _outcome_of(error: DomainError) -> str:
    if error.status_code == 409:
        return "conflict"
    return "provider_error" if error.status_code >= 500 else "refused"


@bp.after_request
def _private(response: Response) -> Response:
    if request.endpoint in ("oauth.callback", "oauth.exchange_code"):
        response.headers.update(_PRIVATE)
    if request.endpoint == "oauth.start_sign_in":
        response.headers["Cache-Control"] = "no-store"
    if "oauth_state_used" in g:
        oauth_binding.release(response, g.oauth_state_used, request)
    return response


@bp.post("/auth_token/oauth")
@_per_client
@accepts(OAuthCodeSchema)
@responds(200, TokenPairSchema, errors=[429])
def exchange_code(data: dict) -> tokens.TokenPair:
    """Trade the one-time code of a redirected social sign-in (60 s, once) for the session's token pair."""
    user_id, provider = oauth_flow.redeem_code(data["code"])
    try:
        accounts.get_user(user_id)
    except DomainError as error:
        raise BadRequest("This code is invalid, used or expired; sign in again") from error
    return tokens.start_session(
        user_id, ip_address=client_ip(), user_agent=request.user_agent.string, method=f"oauth:{provider}"
    )


@bp.get("/users/<user_id>/social_accounts")
@owner_required(services=user_api_services)
@responds(200, SocialAccountSchema, many=True)
def list_social_accounts(user: User) -> list[SocialAccount]:
    """The social identities linked to the account, by provider."""
    return social_accounts.linked_to(user)


@bp.delete("/users/<user_id>/social_accounts/<provider>")
@owner_required(services=user_api_services)
@may_fail_with(409)
@responds(204)
def unlink_social_account(user: User, provider: str) -> None:
    """Unlink the account's identity at `provider`; 409 when it is the last way to sign in (no password, no other)."""
    social_accounts.unlink(user, provider)
