"""Social sign-in (DESIGN §8) against a real OpenID Connect provider on loopback (oidc-provider-mock, an Authlib
authorization server), and Yandex ID and VK ID servers answering their documented JSON.

A browser (httpx) walks the whole code flow over HTTP: our /login redirects it to the provider's consent page, it
signs in there and consents, the provider sends it back to our callback.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from joserfc.jwk import KeySet, RSAKey
from oauth_support import (
    PlainOAuthServer,
    authorize_as,
    binding_cookies,
    json_answer,
    new_browser,
    query_of,
    same_browser,
    serve,
    serve_app,
    set_cookies,
    vk_person,
    yandex_person,
)
from oidc_provider_mock import run_server_in_thread
from pydantic import ValidationError
from sqlalchemy import func, select

from auth_support import API, GENEROUS_LIMIT, PASSWORD, bearer, claims_of, login, script_registrations
from movies_auth import create_app
from movies_auth.domain import link_tokens
from movies_auth.extensions import db
from movies_auth.models import LoginAttempt, SocialAccount, User, UserSession
from movies_auth.settings import Settings
from movies_auth.stores import redis_keys
from testkit.browser import headless_chromium
from testkit.ports import free_port

CLIENT_ID, CLIENT_SECRET = "movies-web", "secret-of-the-movies-web-client"
YANDEX_CLIENT_ID, VK_CLIENT_ID = "3f2b8c1d9e7a4b6c8d0e1f2a3b4c5d6e", "51234567"
APP_URL = "https://app.example.com/signed-in"
PROVIDERS = "test,stale,forged,flaky,gone,yandex,vk"


@pytest.fixture(scope="module")
def oidc():
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def stale_oidc():
    """A provider whose ID tokens are expired when issued."""
    with run_server_in_thread(access_token_max_age=timedelta(seconds=-600)) as server:
        yield f"http://localhost:{server.server_port}"


def _discovery_of(base: str) -> dict:
    return httpx.get(f"{base}/.well-known/openid-configuration").json()


@pytest.fixture(scope="module")
def forged(oidc):
    """The real provider, but its discovery names a key set holding another key than the one it signs with."""
    other = KeySet([RSAKey.generate_key(2048, parameters={"kid": "someone-else", "use": "sig", "alg": "RS256"})])

    def handle(method, target, headers, body):
        if target.startswith("/jwks"):
            return json_answer(other.as_dict(private=False))
        return json_answer(_discovery_of(oidc) | {"jwks_uri": f"{base}/jwks"})

    with serve(handle) as base:
        yield base


@pytest.fixture(scope="module")
def flaky(oidc):
    """The real provider, but its token endpoint is down."""
    dead = f"http://127.0.0.1:{free_port()}/token"

    def handle(method, target, headers, body):
        return json_answer(_discovery_of(oidc) | {"token_endpoint": dead})

    with serve(handle) as base:
        yield base


@pytest.fixture(scope="module")
def yandex():
    with PlainOAuthServer.serving("yandex", YANDEX_CLIENT_ID, "yandex-secret") as server:
        yield server


@pytest.fixture(scope="module")
def vk():
    with PlainOAuthServer.serving("vk", VK_CLIENT_ID) as server:
        yield server


@pytest.fixture(scope="module")
def social(settings, app, oidc, stale_oidc, forged, flaky, yandex, vk):
    """A movies_auth with every provider configured, served on loopback (same database and Redis as `app`)."""
    variables = (
        {
            "TEST_DISCOVERY_URL": f"{oidc}/.well-known/openid-configuration",
            "STALE_DISCOVERY_URL": f"{stale_oidc}/.well-known/openid-configuration",
            "FORGED_DISCOVERY_URL": f"{forged}/.well-known/openid-configuration",
            "FLAKY_DISCOVERY_URL": f"{flaky}/.well-known/openid-configuration",
            "GONE_DISCOVERY_URL": f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration",
        }
        | yandex.settings()
        | vk.settings()
    )
    for name in ("TEST", "STALE", "FORGED", "FLAKY", "GONE"):
        variables |= {f"{name}_CLIENT_ID": CLIENT_ID, f"{name}_CLIENT_SECRET": CLIENT_SECRET}
    configured = Settings(
        _env_file=None,
        **settings.model_dump()
        | {
            "oauth_providers": PROVIDERS,
            "oauth_provider_settings": variables,
            "oauth_redirect_allowlist": f"{APP_URL},http://localhost:3000/app/",
            "oauth_rate_limit_per_ip": GENEROUS_LIMIT,
        },
    )
    social_app = create_app(configured)
    with serve_app(social_app) as base:
        configured.public_url = base
        yield SimpleNamespace(app=social_app, base=base, settings=configured, oidc=oidc)


@pytest.fixture
def browser():
    with new_browser() as client:
        yield client


def person(oidc: str, sub: str, email: str | None, verified: bool = True) -> None:
    """Make `sub` a person at the provider, with this email."""
    claims = {"given_name": "Grace", "family_name": "Hopper"}
    if email:
        claims |= {"email": email, "email_verified": verified}
    assert httpx.put(f"{oidc}/users/{sub}", json=claims).status_code == 204


def start(browser, social, provider="test", headers=None, **params) -> httpx.Response:
    return browser.get(f"{social.base}{API}/oauth/{provider}/login", params=params, headers=headers or {})


def consent(browser, social, sub, provider="test", headers=None, tamper=None, **params) -> str:
    """Start a sign-in and consent at the provider as `sub`: the callback URL the provider sends the browser to."""
    started = start(browser, social, provider, headers, **params)
    assert started.status_code == 302, started.text
    authorize_url = tamper(started.headers["location"]) if tamper else started.headers["location"]
    if provider in ("yandex", "vk"):
        back = browser.get(authorize_url)
    else:
        back = authorize_as(browser, authorize_url, sub)
    assert back.status_code == 302
    return back.headers["location"]


def sign_in(browser, social, sub, provider="test", **kwargs) -> httpx.Response:
    return browser.get(consent(browser, social, sub, provider, **kwargs))


def counts(app) -> dict[str, int]:
    """How many rows of what a sign-in writes."""
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, SocialAccount, LoginAttempt, UserSession)
        }


def oauth_keys(app) -> list[str]:
    """Every social sign-in key in Redis: states, one-time codes and the set of pending sign-ins."""
    return sorted(app.extensions["redis"].scan_iter("auth:o*", count=1000))


def state_keys(app) -> list[str]:
    return sorted(app.extensions["redis"].scan_iter("auth:os:*", count=1000))


def pending(app) -> int:
    """How many sign-ins hold a place under OAUTH_MAX_PENDING."""
    return app.extensions["redis"].zcard(redis_keys.OAUTH_PENDING)


def user_by_email(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


# --- discovery of providers --------------------------------------------------------------------------------------


def test_the_configured_providers_are_listed_with_where_each_starts(social, browser):
    answer = browser.get(f"{social.base}{API}/oauth/providers")

    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()] == PROVIDERS.split(",")
    assert answer.json()[0] == {"name": "test", "login_url": f"{social.base}{API}/oauth/test/login"}


@pytest.mark.parametrize(
    "host_headers", [{"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}]
)
def test_urls_of_the_service_are_built_on_public_url_never_on_the_host_the_request_names(social, browser, host_headers):
    # Host-header injection: a forged Host must not steer a browser's sign-in, nor the provider's redirect back.
    listed = browser.get(f"{social.base}{API}/oauth/providers", headers=host_headers)
    started = start(browser, social, headers=host_headers)

    assert {item["login_url"] for item in listed.json()} == {
        f"{social.base}{API}/oauth/{name}/login" for name in PROVIDERS.split(",")
    }
    assert query_of(started.headers["location"])["redirect_uri"] == f"{social.base}{API}/oauth/test/callback"
    assert "evil.example" not in started.headers["location"] + json.dumps(listed.json())
    assert all("domain" not in attributes for _value, attributes in set_cookies(started).values())


@pytest.mark.parametrize("path", ["oauth/github/login", f"oauth/github/callback?state={'a' * 43}&code=y"])
def test_a_provider_not_configured_is_404(social, browser, path):
    answer = browser.get(f"{social.base}{API}/{path}")

    assert answer.status_code == 404 and answer.json() == {"msg": "No such sign-in provider"}


def test_the_service_without_providers_lists_none(client):
    assert client.get(f"{API}/oauth/providers").json == []
    assert client.get(f"{API}/oauth/google/login").status_code == 404


# --- the code flow -----------------------------------------------------------------------------------------------


def test_the_login_redirect_carries_state_pkce_s256_and_a_nonce_and_keeps_them_server_side(social, browser):
    started = start(browser, social)
    query = query_of(started.headers["location"])

    assert started.status_code == 302
    assert started.headers["location"].startswith(social.oidc)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) == 43 and len(query["nonce"]) >= 20
    assert query["redirect_uri"] == f"{social.base}{API}/oauth/test/callback"
    assert query["client_id"] == CLIENT_ID and set(query["scope"].split()) == {"openid", "email", "profile"}
    [key] = state_keys(social.app)
    stored = json.loads(social.app.extensions["redis"].get(key))
    assert stored["n"] == query["nonce"] and stored["v"] and query["state"] not in key
    assert 590 <= social.app.extensions["redis"].ttl(key) <= 600
    # The browser gets the cookie binding the sign-in to it; the state keeps only its hash.
    [(name, (value, _attributes))] = set_cookies(started).items()
    assert re.fullmatch(r"movies_oauth_[0-9a-f]{16}", name) and len(value) >= 44
    assert stored["b"] == hashlib.sha256(value.encode()).hexdigest() and value not in json.dumps(stored)


def test_first_sign_in_makes_an_account_without_password_and_signs_in(social, browser):
    person(social.oidc, "grace-1", "Grace@Example.com")

    answer = sign_in(browser, social, "grace-1")

    assert answer.status_code == 200, answer.text
    pair = answer.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert answer.headers["cache-control"] == "no-store"
    user = user_by_email(social.app, "grace@example.com")
    assert user.password_hash is None and user.email_verified and user.first_name == "Grace"
    me = browser.get(f"{social.base}{API}/users/{user.id}", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email_verified"] is True
    sessions = browser.get(f"{social.base}{API}/users/{user.id}/sessions", headers=bearer(pair["access_token"]))
    assert [s["method"] for s in sessions.json()] == ["oauth:test"]
    logins = browser.get(f"{social.base}{API}/users/{user.id}/logins", headers=bearer(pair["access_token"]))
    assert [item["success"] for item in logins.json()["items"]] == [True]
    linked = browser.get(f"{social.base}{API}/users/{user.id}/social_accounts", headers=bearer(pair["access_token"]))
    assert [(a["provider"], a["email"]) for a in linked.json()] == [("test", "grace@example.com")]
    assert oauth_keys(social.app) == []  # the state is used up


def test_signing_in_again_with_the_same_identity_signs_in_the_same_account(social, browser):
    person(social.oidc, "grace-2", "grace2@example.com")
    first = sign_in(browser, social, "grace-2").json()
    # The person changed their address at the provider: the identity, not the email, names the account.
    person(social.oidc, "grace-2", "grace.new@example.com")

    second = sign_in(browser, social, "grace-2")

    assert second.status_code == 200
    assert login_subject(first) == login_subject(second.json())
    assert counts(social.app)["users"] == 1 and counts(social.app)["user_sessions"] == 2


def login_subject(pair: dict) -> str:
    return claims_of(pair["access_token"])["sub"]


def test_an_account_holding_the_email_is_never_linked_automatically(social, browser, account):
    person(social.oidc, "attacker", account.email)
    before = counts(social.app)

    answer = sign_in(browser, social, "attacker")

    assert answer.status_code == 409
    assert "sign in" in answer.json()["msg"].lower() and "link" in answer.json()["msg"]
    after = counts(social.app)
    assert after["social_accounts"] == 0 and after["users"] == before["users"]
    assert after["user_sessions"] == before["user_sessions"]
    # The owner sees the attempt in the login history.
    assert after["login_history"] == before["login_history"] + 1


def test_an_email_the_provider_does_not_vouch_for_makes_no_account(social, browser):
    person(social.oidc, "unverified", "someone@example.com", verified=False)
    before = counts(social.app)

    answer = sign_in(browser, social, "unverified")

    assert answer.status_code == 400 and "did not vouch" in answer.json()["msg"]
    assert counts(social.app) == before


def test_linking_from_a_signed_in_account_then_signing_in_with_the_provider(social, browser, account):
    person(social.oidc, "ada-google", account.email)

    linked = sign_in(browser, social, "ada-google", headers=account.headers, link="true")

    assert linked.status_code == 201, linked.text
    assert linked.json()["provider"] == "test" and linked.json()["email"] == account.email
    answer = sign_in(browser, social, "ada-google")
    assert answer.status_code == 200 and login_subject(answer.json()) == account.uuid
    listed = browser.get(f"{social.base}{API}/users/{account.uuid}/social_accounts", headers=account.headers)
    assert [a["provider"] for a in listed.json()] == ["test"]


def test_linking_needs_a_live_access_token(social, browser, account):
    assert start(browser, social, link="true").status_code == 401
    assert start(browser, social, headers=bearer(account.refresh_token), link="true").status_code in (401, 422)
    assert start(browser, social, headers=bearer("not-a-token"), link="true").status_code == 422
    assert oauth_keys(social.app) == []


def test_a_link_whose_session_ended_meanwhile_is_refused(social, browser, account):
    person(social.oidc, "ada-late", account.email)
    callback = consent(browser, social, "ada-late", headers=account.headers, link="true")
    assert browser.delete(f"{social.base}{API}/auth_token", headers=account.headers).status_code == 204

    answer = browser.get(callback)

    assert answer.status_code == 401 and "session" in answer.json()["msg"]
    assert counts(social.app)["social_accounts"] == 0


def test_an_identity_linked_to_another_account_cannot_be_linked_again(social, browser, make_account):
    person(social.oidc, "shared", "first-owner@example.com")
    assert sign_in(browser, social, "shared").status_code == 200
    other = make_account("second@example.com")

    answer = sign_in(browser, social, "shared", headers=other.headers, link="true")

    assert answer.status_code == 409 and "another account" in answer.json()["msg"]


def test_unlinking_the_last_way_to_sign_in_is_refused(social, browser, account):
    person(social.oidc, "only-social", "only@example.com")
    pair = sign_in(browser, social, "only-social").json()
    user_id = login_subject(pair)
    path = f"{social.base}{API}/users/{user_id}/social_accounts/test"

    refused = browser.delete(path, headers=bearer(pair["access_token"]))

    assert refused.status_code == 409 and "last way to sign in" in refused.json()["msg"]
    assert counts(social.app)["social_accounts"] == 1
    # Someone else cannot even learn whether it is linked.
    assert browser.delete(path, headers=account.headers).status_code == 403


def test_an_account_with_a_password_can_unlink(social, browser, account):
    person(social.oidc, "ada-2", account.email)
    assert sign_in(browser, social, "ada-2", headers=account.headers, link="true").status_code == 201
    path = f"{social.base}{API}/users/{account.uuid}/social_accounts/test"

    assert browser.delete(path, headers=account.headers).status_code == 204
    assert browser.delete(path, headers=account.headers).status_code == 404
    assert browser.get(f"{social.base}{API}/users/{account.uuid}/social_accounts", headers=account.headers).json() == []


def test_two_unlinks_at_once_never_leave_an_account_without_a_way_in(social, browser, yandex):
    person(social.oidc, "two-ways", "two@example.com")
    pair = sign_in(browser, social, "two-ways").json()
    yandex.people["y-two"] = yandex_person("700", "two-y@yandex.ru", YANDEX_CLIENT_ID)
    yandex.next_person = "y-two"
    linked = sign_in(browser, social, "", provider="yandex", headers=bearer(pair["access_token"]), link="true")
    assert linked.status_code == 201, linked.text
    user_id = login_subject(pair)
    answers = []

    def unlink(provider: str) -> None:
        with httpx.Client() as own:
            path = f"{social.base}{API}/users/{user_id}/social_accounts/{provider}"
            answers.append(own.delete(path, headers=bearer(pair["access_token"])).status_code)

    threads = [threading.Thread(target=unlink, args=(name,)) for name in ("test", "yandex")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [204, 409]
    assert counts(social.app)["social_accounts"] == 1


def test_an_account_without_password_refuses_password_logins_like_a_wrong_password(social, browser, client):
    person(social.oidc, "nopass", "nopass@example.com")
    assert sign_in(browser, social, "nopass").status_code == 200

    for password in (PASSWORD, "", "x" * 8):
        answer = client.post(f"{API}/auth_token", json={"email": "nopass@example.com", "password": password or "p"})
        assert answer.status_code in (400, 401)
        if answer.status_code == 401:
            assert answer.json == {"msg": "Invalid email or password"}
    unknown = client.post(f"{API}/auth_token", json={"email": "nobody@example.com", "password": PASSWORD})
    assert (
        unknown.json
        == client.post(f"{API}/auth_token", json={"email": "nopass@example.com", "password": PASSWORD}).json
    )


def test_an_account_without_password_sets_one_through_the_password_reset(social, browser, client, app):
    person(social.oidc, "resetter", "resetter@example.com")
    assert sign_in(browser, social, "resetter").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resetter@example.com"))
        token = link_tokens.issue(user, link_tokens.RESET, timedelta(minutes=30))
        db.session.commit()

    confirmed = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": "a new passphrase!"})

    assert confirmed.status_code == 204, confirmed.json
    assert login(client, "resetter@example.com", "a new passphrase!").status_code == 200
    # With a password, the last social identity may go.
    pair = login(client, "resetter@example.com", "a new passphrase!").json
    user_id = login_subject(pair)
    assert (
        client.delete(f"{API}/users/{user_id}/social_accounts/test", headers=bearer(pair["access_token"])).status_code
        == 204
    )


# --- the redirect with a one-time code ---------------------------------------------------------------------------


def test_a_browser_app_gets_a_one_time_code_never_a_token_in_a_url(social, browser):
    person(social.oidc, "spa-user", "spa@example.com")

    back = sign_in(browser, social, "spa-user", redirect_uri=APP_URL + "?tab=films")

    assert back.status_code == 302
    target = back.headers["location"]
    assert target.startswith(APP_URL + "?tab=films&code=")
    assert "token" not in target and back.headers["referrer-policy"] == "no-referrer"
    code = query_of(target)["code"]
    exchanged = browser.post(f"{social.base}{API}/auth_token/oauth", json={"code": code})
    assert exchanged.status_code == 200 and exchanged.json()["token_type"] == "Bearer"
    replayed = browser.post(f"{social.base}{API}/auth_token/oauth", json={"code": code})
    assert replayed.status_code == 400 and replayed.json()["errors"] == {"code": ["Unknown, used, or expired."]}
    sessions = counts(social.app)["user_sessions"]
    assert sessions == 1
    [key_ttl] = [social.app.extensions["redis"].ttl(k) for k in oauth_keys(social.app)] or [None]
    assert key_ttl is None


def test_the_one_time_code_lives_sixty_seconds(social, browser):
    person(social.oidc, "slow-spa", "slow@example.com")
    back = sign_in(browser, social, "slow-spa", redirect_uri=APP_URL)
    [key] = oauth_keys(social.app)

    assert 55 <= social.app.extensions["redis"].ttl(key) <= 60
    social.app.extensions["redis"].delete(key)  # as Redis does when it expires
    code = query_of(back.headers["location"])["code"]
    assert browser.post(f"{social.base}{API}/auth_token/oauth", json={"code": code}).status_code == 400


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/signed-in",
        "https://app.example.com.evil.com/signed-in",
        "https://app.example.com/signed-in-elsewhere",
        "http://app.example.com/signed-in",
        "https://user@app.example.com/signed-in",
        "https://app.example.com/signed-in#x",
        "javascript:alert(1)",
        "//evil.example.com/",
    ],
)
def test_a_redirect_uri_off_the_allowlist_is_400_and_keeps_nothing(social, browser, redirect_uri):
    answer = start(browser, social, redirect_uri=redirect_uri)

    assert answer.status_code == 400 and "redirect_uri" in answer.json()["errors"]
    assert oauth_keys(social.app) == []


def test_a_redirect_under_an_allowed_folder_is_allowed(social, browser):
    assert start(browser, social, redirect_uri="http://localhost:3000/app/callback").status_code == 302


def test_a_link_with_a_redirect_goes_back_saying_what_was_linked(social, browser, account):
    person(social.oidc, "ada-3", account.email)

    back = sign_in(browser, social, "ada-3", headers=account.headers, link="true", redirect_uri=APP_URL)

    assert back.status_code == 302 and back.headers["location"] == APP_URL + "?linked=test"


@pytest.mark.parametrize(
    "query",
    ["code=planted", "error=access_denied", "linked=test", "error_description=x", "tab=1&%63ode=planted", "code"],
)
def test_a_redirect_uri_carrying_what_the_callback_adds_is_400_and_keeps_nothing(social, browser, query):
    # A planted `code` would come before the real one: the app could trade the attacker's sign-in for the victim.
    answer = start(browser, social, redirect_uri=f"{APP_URL}?{query}")

    assert answer.status_code == 400 and "redirect_uri" in answer.json()["errors"]
    assert oauth_keys(social.app) == [] and set_cookies(answer) == {}


def failure_of(answer: httpx.Response) -> dict[str, str]:
    """What a failed sign-in sent the browser app: the redirect's query, after checking it carries nothing else."""
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(APP_URL + "?")
    assert answer.headers["cache-control"] == "no-store" and answer.headers["referrer-policy"] == "no-referrer"
    query = query_of(answer.headers["location"])
    assert set(query) == {"error", "error_description"}, query
    assert not set('"\\') & set(query["error_description"]) and len(query["error_description"]) <= 300
    return query


def test_a_failed_redirected_sign_in_goes_back_to_the_app_with_the_error(social, browser, account):
    person(social.oidc, "held", account.email)
    before = counts(social.app)

    answer = sign_in(browser, social, "held", redirect_uri=APP_URL)

    failure = failure_of(answer)
    assert failure["error"] == "account_exists" and "link" in failure["error_description"]
    after = counts(social.app)
    assert after["login_history"] == before["login_history"] + 1  # the owner still sees the attempt
    assert {k: v for k, v in after.items() if k != "login_history"} == {
        k: v for k, v in before.items() if k != "login_history"
    }
    assert binding_cookies(browser) == {} and oauth_keys(social.app) == []


def test_the_provider_refusing_a_redirected_sign_in_goes_back_to_the_app(social, browser):
    started = start(browser, social, redirect_uri=APP_URL)
    state = query_of(started.headers["location"])["state"]
    callback = f"{social.base}{API}/oauth/test/callback"

    # What the provider said reaches the app only as text RFC 6749 allows: no quote, no backslash.
    answer = browser.get(callback, params={"state": state, "error": 'access_denied"><script>\\', "code": "x"})

    failure = failure_of(answer)
    assert failure["error"] == "access_denied" and "access_denied" in failure["error_description"]
    assert counts(social.app) == {"users": 0, "social_accounts": 0, "login_history": 0, "user_sessions": 0}


def _forged_code(url: str) -> str:
    return re.sub(r"code=[^&]+", "code=" + secrets.token_urlsafe(16), url)


@pytest.mark.parametrize(
    ("provider", "tamper_callback", "error"),
    [("test", _forged_code, "access_denied"), ("flaky", None, "temporarily_unavailable")],
)
def test_a_bad_code_or_a_provider_down_goes_back_to_the_app(social, browser, provider, tamper_callback, error):
    person(social.oidc, "unlucky-spa", "unlucky-spa@example.com")
    callback = consent(browser, social, "unlucky-spa", provider, redirect_uri=APP_URL)

    answer = browser.get(tamper_callback(callback) if tamper_callback else callback)

    assert failure_of(answer)["error"] == error
    assert counts(social.app) == {"users": 0, "social_accounts": 0, "login_history": 0, "user_sessions": 0}


def test_a_redirected_sign_in_finished_in_another_browser_goes_back_to_the_app_signed_in_nobody(social, browser):
    person(social.oidc, "elsewhere", "elsewhere@example.com")
    callback = consent(browser, social, "elsewhere", redirect_uri=APP_URL)

    with new_browser() as other:
        answer = other.get(callback)

    assert failure_of(answer)["error"] == "browser_mismatch"
    assert counts(social.app)["users"] == 0 and oauth_keys(social.app) == []


def test_a_redirected_link_whose_session_ended_goes_back_to_the_app(social, browser, account):
    person(social.oidc, "ada-gone", account.email)
    callback = consent(browser, social, "ada-gone", headers=account.headers, link="true", redirect_uri=APP_URL)
    assert browser.delete(f"{social.base}{API}/auth_token", headers=account.headers).status_code == 204

    answer = browser.get(callback)

    assert failure_of(answer)["error"] == "login_required"
    assert counts(social.app)["social_accounts"] == 0


def test_a_replayed_or_unknown_state_stays_a_json_400_even_for_a_redirected_sign_in(social, browser):
    # Without a live state nothing says where the browser came from: no redirect target to trust.
    person(social.oidc, "spa-replay", "spa-replay@example.com")
    callback = consent(browser, social, "spa-replay", redirect_uri=APP_URL)
    assert browser.get(callback).status_code == 302

    replayed = browser.get(callback)
    unknown = browser.get(re.sub(r"state=[^&]+", "state=" + secrets.token_urlsafe(32), callback))

    for answer in (replayed, unknown):
        assert answer.status_code == 400 and "location" not in answer.headers
        assert answer.json()["errors"] == {"state": ["Unknown, already used, or expired."]}


# --- state, nonce and ID token attacks --------------------------------------------------------------------------


def test_a_replayed_callback_is_400_and_signs_in_nobody(social, browser):
    person(social.oidc, "replayer", "replay@example.com")
    callback = consent(browser, social, "replayer")
    assert browser.get(callback).status_code == 200
    before = counts(social.app)

    replayed = browser.get(callback)

    assert replayed.status_code == 400
    assert replayed.json() == {
        "msg": "This sign-in is invalid, used or expired; start it again",
        "errors": {"state": ["Unknown, already used, or expired."]},
    }
    assert counts(social.app) == before


def test_a_forged_state_is_400(social, browser):
    person(social.oidc, "forger", "forger@example.com")
    callback = consent(browser, social, "forger")
    forged = re.sub(r"state=[^&]+", "state=" + secrets.token_urlsafe(32), callback)

    assert browser.get(forged).status_code == 400
    assert browser.get(callback).status_code == 200  # the real one was left alone


def test_the_state_of_one_provider_is_refused_at_another(social, browser):
    person(social.oidc, "crosser", "cross@example.com")
    callback = consent(browser, social, "crosser")

    answer = browser.get(callback.replace("/oauth/test/", "/oauth/stale/"))

    assert answer.status_code == 400 and counts(social.app)["users"] == 0


def test_the_same_callback_twice_at_once_signs_in_once(social, browser):
    person(social.oidc, "racer", "racer@example.com")
    callback = consent(browser, social, "racer")
    answers: list[int] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        with same_browser(browser) as own:
            barrier.wait()
            answers.append(own.get(callback).status_code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200, 400, 400, 400]
    assert counts(social.app)["users"] == 1 and counts(social.app)["user_sessions"] == 1


def test_two_sign_ins_of_a_new_identity_at_once_make_one_account(social, browser):
    person(social.oidc, "twin", "twin@example.com")
    callbacks = [consent(browser, social, "twin") for _ in range(2)]
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def submit(callback: str) -> None:
        with same_browser(browser) as own:
            barrier.wait()
            answers.append(own.get(callback).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in callbacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200, 200]
    assert counts(social.app)["users"] == 1 and counts(social.app)["social_accounts"] == 1


NOT_THIS_BROWSER = {
    "msg": "This sign-in was not started in this browser (or its cookie is gone); start it again from this browser"
}


def test_the_binding_cookie_is_http_only_lax_scoped_to_the_oauth_routes_and_lives_as_long_as_the_state(social, browser):
    started = start(browser, social)

    [(_value, attributes)] = set_cookies(started).values()
    assert attributes["httponly"] is True and attributes["samesite"] == "Lax"
    assert attributes["path"] == f"{API}/oauth/" and attributes["max-age"] == "600"
    assert "secure" not in attributes and "domain" not in attributes  # http here; host-only
    assert started.headers["cache-control"] == "no-store"


def test_the_binding_cookie_is_secure_and_so_named_when_the_service_is_public_over_https(social, browser, monkeypatch):
    monkeypatch.setattr(social.settings, "public_url", "https://movies.example.com")

    started = start(browser, social)

    [(name, (_value, attributes))] = set_cookies(started).items()
    assert name.startswith("__Secure-movies_oauth_") and attributes["secure"] is True
    assert attributes["httponly"] is True and attributes["samesite"] == "Lax" and attributes["path"] == f"{API}/oauth/"
    assert query_of(started.headers["location"])["redirect_uri"].startswith("https://movies.example.com/")


def test_a_callback_opened_in_another_browser_is_400_writes_nothing_and_uses_the_state_up(social, browser):
    # Login CSRF: the attacker consents as themselves and sends the victim the callback URL.
    person(social.oidc, "csrf-attacker", "csrf-attacker@example.com")
    callback = consent(browser, social, "csrf-attacker")
    before = counts(social.app)

    with new_browser() as victim:
        answer = victim.get(callback)

    assert answer.status_code == 400 and answer.json() == NOT_THIS_BROWSER
    assert answer.headers["cache-control"] == "no-store"
    assert counts(social.app) == before == {"users": 0, "social_accounts": 0, "login_history": 0, "user_sessions": 0}
    assert oauth_keys(social.app) == []
    # The state is used up: it cannot be tried again, not even by the browser that started it.
    assert browser.get(callback).json()["errors"] == {"state": ["Unknown, already used, or expired."]}
    assert counts(social.app) == before


def test_a_callback_with_another_browsers_binding_cookie_is_400(social, browser):
    person(social.oidc, "csrf-2", "csrf-2@example.com")
    callbacks = [consent(browser, social, "csrf-2") for _ in range(2)]
    [attacker_cookie, _] = binding_cookies(browser)
    with new_browser() as victim:
        start(victim, social)  # the victim has a sign-in of their own going, and its cookie
        [(_, victim_value)] = binding_cookies(victim).items()

        with_own_cookie = victim.get(callbacks[0])
        # Even under the name the attacker's sign-in looks for, the victim's value is not the one it stored.
        under_the_name = httpx.get(callbacks[1], headers={"Cookie": f"{attacker_cookie}={victim_value}"})

    assert with_own_cookie.status_code == 400 and with_own_cookie.json() == NOT_THIS_BROWSER
    assert under_the_name.status_code == 400 and under_the_name.json() == NOT_THIS_BROWSER
    assert counts(social.app)["users"] == 0 and len(state_keys(social.app)) == 1  # the victim's own sign-in


def test_a_link_finished_by_another_browser_is_refused_and_links_nothing(social, browser, account, caplog):
    # Account takeover: the attacker (`account`) starts linking for their own account, then has the victim's
    # browser consent at the provider as the victim and come back to the callback.
    person(social.oidc, "victim-google", "victim@example.com")
    started = start(browser, social, headers=account.headers, link="true")
    assert started.status_code == 302

    with new_browser() as victim:
        back = authorize_as(victim, started.headers["location"], "victim-google")
        answer = victim.get(back.headers["location"])

    assert answer.status_code == 400 and answer.json() == NOT_THIS_BROWSER
    assert counts(social.app)["social_accounts"] == 0
    listed = browser.get(f"{social.base}{API}/users/{account.uuid}/social_accounts", headers=account.headers)
    assert listed.json() == []
    assert any("event=social_sign_in_unbound" in line and f"link_to={account.uuid}" in line for line in caplog.messages)
    # The victim's identity is still theirs: signing in with it makes the victim's own account.
    with new_browser() as victim:
        assert sign_in(victim, social, "victim-google").status_code == 200
    assert user_by_email(social.app, "victim@example.com") is not None


def test_two_sign_ins_started_in_parallel_by_one_browser_both_finish(social, browser):
    person(social.oidc, "tab-1", "tab-1@example.com")
    person(social.oidc, "tab-2", "tab-2@example.com")
    first = consent(browser, social, "tab-1")
    second = consent(browser, social, "tab-2")
    assert len(binding_cookies(browser)) == 2

    second_answer = browser.get(second)
    first_answer = browser.get(first)

    assert (second_answer.status_code, first_answer.status_code) == (200, 200)
    assert login_subject(first_answer.json()) != login_subject(second_answer.json())
    # Each callback clears its own cookie, and only its own.
    [(name, (_value, attributes))] = set_cookies(second_answer).items()
    assert attributes["max-age"] == "0" and attributes["path"] == f"{API}/oauth/"
    assert name not in set_cookies(first_answer) and binding_cookies(browser) == {}


def test_a_failed_callback_clears_its_cookie_too(social, browser):
    person(social.oidc, "fails", "fails@example.com")

    answer = sign_in(browser, social, "fails", provider="flaky")

    assert answer.status_code == 502
    assert binding_cookies(browser) == {}


def test_a_callback_refused_before_its_state_is_used_keeps_the_cookie(social, browser, monkeypatch):
    person(social.oidc, "patient", "patient@example.com")
    callback = consent(browser, social, "patient")
    monkeypatch.setattr(social.settings, "oauth_rate_limit_per_ip", "1 per minute")
    assert start(browser, social).status_code == 302
    assert len(binding_cookies(browser)) == 2

    limited = browser.get(callback)
    malformed = browser.get(re.sub(r"state=[^&]+", "state=short", callback))

    assert limited.status_code == 429 and malformed.status_code in (400, 429)
    assert set_cookies(limited) == {} and set_cookies(malformed) == {} and len(binding_cookies(browser)) == 2
    monkeypatch.setattr(social.settings, "oauth_rate_limit_per_ip", GENEROUS_LIMIT)
    assert browser.get(callback).status_code == 200


def test_a_browser_keeps_at_most_five_pending_sign_ins_the_newest(social, browser):
    person(social.oidc, "many", "many@example.com")
    callbacks = [consent(browser, social, "many") for _ in range(7)]

    assert len(binding_cookies(browser)) == 5
    assert browser.get(callbacks[0]).json() == NOT_THIS_BROWSER
    assert browser.get(callbacks[1]).json() == NOT_THIS_BROWSER
    assert browser.get(callbacks[-1]).status_code == 200


def test_a_malformed_binding_cookie_is_dropped_at_the_next_start(social, browser):
    junk = "movies_oauth_0123456789abcdef"

    started = start(browser, social, headers={"Cookie": f"{junk}=not-a-binding; other=kept"})

    cookies = set_cookies(started)
    assert cookies[junk][1]["max-age"] == "0" and "other" not in cookies and len(cookies) == 2


def _another_nonce(url: str) -> str:
    return re.sub(r"nonce=[^&]+", "nonce=" + secrets.token_urlsafe(20), url)


def test_an_id_token_with_another_nonce_is_refused(social, browser):
    person(social.oidc, "nonce-victim", "nonce@example.com")

    answer = sign_in(browser, social, "nonce-victim", tamper=_another_nonce)

    assert answer.status_code == 400 and "nonce" in answer.json()["msg"]
    assert counts(social.app) == {"users": 0, "social_accounts": 0, "login_history": 0, "user_sessions": 0}


def test_an_id_token_signed_by_another_key_is_refused(social, browser):
    person(social.oidc, "key-victim", "key@example.com")

    answer = sign_in(browser, social, "key-victim", provider="forged")

    assert answer.status_code == 400 and "ID token" in answer.json()["msg"]
    assert counts(social.app)["users"] == 0


def test_an_expired_id_token_is_refused(social, browser):
    person(social.oidc, "late", "late@example.com")

    answer = sign_in(browser, social, "late", provider="stale")

    assert answer.status_code == 400 and "exp" in answer.json()["msg"]
    assert counts(social.app)["users"] == 0


def test_a_provider_down_at_the_code_exchange_is_a_clear_502_and_writes_nothing(social, browser):
    person(social.oidc, "unlucky", "unlucky@example.com")

    answer = sign_in(browser, social, "unlucky", provider="flaky")

    assert answer.status_code == 502
    assert answer.json() == {"msg": "The sign-in provider 'flaky' did not answer properly; try again later"}
    assert counts(social.app) == {"users": 0, "social_accounts": 0, "login_history": 0, "user_sessions": 0}


def test_a_provider_down_at_the_start_is_502_and_keeps_nothing(social, browser):
    answer = start(browser, social, "gone")

    assert answer.status_code == 502 and "gone" in answer.json()["msg"]
    assert oauth_keys(social.app) == []


def test_a_sign_in_the_person_denied_at_the_provider_is_400(social, browser):
    started = start(browser, social)
    url = started.headers["location"]
    browser.get(url)
    denied = browser.post(url, data={"action": "deny"})
    assert query_of(denied.headers["location"])["error"] == "access_denied"
    # This provider leaves the state out of its refusal; the usual ones keep it.
    back = browser.get(denied.headers["location"])
    with_state = browser.get(denied.headers["location"] + "&state=" + query_of(url)["state"])

    assert back.status_code == 400 and back.json()["errors"] == {"state": ["Missing data for required field."]}
    assert with_state.status_code == 400 and "access_denied" in with_state.json()["msg"]
    assert oauth_keys(social.app) == [] and counts(social.app)["users"] == 0


# --- malformed input and floods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "s" * 10_000, "code": "abc"}, "state"),
        ({"state": "é" * 43, "code": "abc"}, "state"),
        ({"state": "a" * 43}, "code"),
        ({"code": "abc"}, "state"),
        ({"state": "a" * 43, "code": "x" * 5000}, "code"),
        ({"state": "a" * 43, "code": "a\x00b"}, "code"),
    ],
)
def test_a_malformed_callback_is_400_with_the_field_and_touches_nothing(social, browser, query, field):
    before = counts(social.app)

    answer = browser.get(f"{social.base}{API}/oauth/test/callback?{urlencode(query)}")

    assert answer.status_code == 400 and field in answer.json()["errors"]
    assert counts(social.app) == before and oauth_keys(social.app) == []


@pytest.mark.parametrize(
    "params",
    [{"redirect_uri": "https://app.example.com/" + "a" * 3000}, {"redirect_uri": "not a url"}, {"link": "perhaps"}],
)
def test_a_malformed_login_is_400_and_keeps_nothing(social, browser, params):
    answer = start(browser, social, **params)

    assert answer.status_code == 400 and answer.json()["msg"] == "Invalid input"
    assert oauth_keys(social.app) == []


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "a" * 10_000}, {"code": 5}, {"code": "é" * 43}])
def test_a_malformed_code_exchange_is_400(social, browser, body):
    answer = browser.post(f"{social.base}{API}/auth_token/oauth", json=body)

    assert answer.status_code == 400 and "code" in answer.json()["errors"]


def test_each_start_keeps_one_small_expiring_key_and_starts_are_limited_per_address(social, browser, monkeypatch):
    monkeypatch.setattr(social.settings, "oauth_rate_limit_per_ip", "5 per minute")
    redis = social.app.extensions["redis"]

    answers = [start(browser, social).status_code for _ in range(7)]

    assert answers == [302] * 5 + [429] * 2
    keys = state_keys(social.app)
    assert len(keys) == 5 and pending(social.app) == 5
    assert all(0 < redis.ttl(key) <= 600 for key in keys)
    assert all(size < 1024 for size in memory_usage(social.app, keys))


def memory_usage(app, keys) -> list[int]:
    """MEMORY USAGE of each key; none under the embedded Redis, which has no such command (CI runs a real one)."""
    if not app.extensions["settings"].redis_url:
        return []
    return [app.extensions["redis"].memory_usage(key) for key in keys]


FULL = {"msg": "Too many social sign-ins are in progress; try again after the Retry-After delay"}


def test_pending_sign_ins_are_bounded_across_all_callers_and_redis_stays_bounded(social, monkeypatch, caplog):
    # Many addresses, each under its own rate limit, together: the bound holds whatever their number.
    monkeypatch.setattr(social.settings, "oauth_max_pending", 3)
    browsers = [new_browser() for _ in range(5)]
    person(social.oidc, "waiting", "waiting@example.com")

    callbacks = [consent(each, social, "waiting") for each in browsers[:3]]
    full = [start(each, social) for each in browsers[3:]]

    for answer in full:
        assert answer.status_code == 503 and answer.json() == FULL
        assert 590 <= int(answer.headers["retry-after"]) <= 600
        assert set_cookies(answer) == {}  # no cookie for a sign-in that was not started
    assert len(state_keys(social.app)) == 3 and pending(social.app) == 3
    assert sum(memory_usage(social.app, oauth_keys(social.app))) < 3 * 1024
    assert any("event=social_sign_ins_full" in line for line in caplog.messages)
    # A callback gives its place back at once.
    assert browsers[0].get(callbacks[0]).status_code == 200
    assert pending(social.app) == 2 and start(browsers[3], social).status_code == 302
    assert start(browsers[4], social).status_code == 503
    for each in browsers:
        each.close()


def test_an_abandoned_sign_in_frees_its_place_when_it_expires(social, browser, monkeypatch):
    monkeypatch.setattr(social.settings, "oauth_max_pending", 2)
    monkeypatch.setattr(social.settings, "oauth_state_ttl", timedelta(seconds=1))
    assert [start(browser, social).status_code for _ in range(2)] == [302, 302]

    refused = start(browser, social)
    time.sleep(1.1)
    later = start(browser, social)

    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert later.status_code == 302
    assert pending(social.app) == 1 and len(state_keys(social.app)) == 1
    assert 0 < social.app.extensions["redis"].pttl(redis_keys.OAUTH_PENDING) <= 1000


def test_starts_racing_for_the_last_places_take_exactly_the_bound(social, monkeypatch):
    monkeypatch.setattr(social.settings, "oauth_max_pending", 3)
    answers: list[int] = []
    barrier = threading.Barrier(10)

    def begin() -> None:
        with new_browser() as own:
            barrier.wait()
            answers.append(start(own, social).status_code)

    threads = [threading.Thread(target=begin) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [302] * 3 + [503] * 7
    assert len(state_keys(social.app)) == 3 and pending(social.app) == 3


def test_a_start_refused_for_another_reason_takes_no_place(social, browser, monkeypatch):
    monkeypatch.setattr(social.settings, "oauth_max_pending", 1)

    refused = [start(browser, social, "gone"), start(browser, social, redirect_uri="https://evil.example.com/")]

    assert [answer.status_code for answer in refused] == [502, 400]
    assert pending(social.app) == 0 and start(browser, social).status_code == 302


def test_later_starts_reserve_their_place_with_the_script_registered_by_the_first(social, browser, monkeypatch):
    assert start(browser, social).status_code == 302
    registered = script_registrations(monkeypatch, social.app)

    assert [start(browser, social).status_code for _ in range(3)] == [302] * 3
    assert registered == [] and pending(social.app) == 4


# --- Yandex ID and VK ID -----------------------------------------------------------------------------------------


def test_yandex_people_are_told_apart_by_their_id_not_the_apps_client_id(social, browser, yandex):
    yandex.people["ivan"] = yandex_person("1130000012345678", "ivan@yandex.ru", YANDEX_CLIENT_ID)
    yandex.people["maria"] = yandex_person("1130000087654321", "maria@yandex.ru", YANDEX_CLIENT_ID)

    yandex.next_person = "ivan"
    ivan = sign_in(browser, social, "", provider="yandex")
    yandex.next_person = "maria"
    maria = sign_in(browser, social, "", provider="yandex")

    assert ivan.status_code == 200 and maria.status_code == 200, (ivan.text, maria.text)
    assert login_subject(ivan.json()) != login_subject(maria.json())
    with social.app.app_context():
        subjects = sorted(db.session.scalars(select(SocialAccount.subject)))
    assert subjects == ["1130000012345678", "1130000087654321"]
    assert user_by_email(social.app, "maria@yandex.ru").password_hash is None
    assert yandex.userinfo_headers[-1]["Authorization"].startswith("OAuth ")
    yandex.next_person = "ivan"
    again = sign_in(browser, social, "", provider="yandex")
    assert login_subject(again.json()) == login_subject(ivan.json())


def test_yandex_start_asks_for_the_email_with_pkce(social, browser):
    query = query_of(start(browser, social, "yandex").headers["location"])

    assert query["client_id"] == YANDEX_CLIENT_ID and query["code_challenge_method"] == "S256"
    assert set(query["scope"].split()) == {"login:email", "login:info"} and "nonce" not in query


def test_vk_people_are_told_apart_and_the_device_id_goes_with_the_code(social, browser, vk):
    vk.people["a"] = vk_person("1234567890", "anna@vk.com")
    vk.people["b"] = vk_person("1234567891", "boris@vk.com")

    vk.next_person = "a"
    anna = sign_in(browser, social, "", provider="vk")
    vk.next_person = "b"
    boris = sign_in(browser, social, "", provider="vk")

    assert anna.status_code == 200 and boris.status_code == 200, (anna.text, boris.text)
    assert login_subject(anna.json()) != login_subject(boris.json())
    assert vk.token_requests[-1]["device_id"].startswith("device-")
    assert vk.token_requests[-1]["client_id"] == VK_CLIENT_ID
    sessions = browser.get(
        f"{social.base}{API}/users/{login_subject(anna.json())}/sessions", headers=bearer(anna.json()["access_token"])
    )
    assert [s["method"] for s in sessions.json()] == ["oauth:vk"]


def test_a_vk_callback_without_its_device_id_is_400_and_writes_nothing(social, browser, vk):
    vk.people["c"] = vk_person("1234567892", "cyril@vk.com")
    vk.next_person = "c"
    callback = consent(browser, social, "", provider="vk")

    answer = browser.get(re.sub(r"&device_id=[^&]+", "", callback))

    assert answer.status_code == 400 and "device_id" in answer.json()["errors"]
    assert counts(social.app)["users"] == 0


# --- metrics and CLI ---------------------------------------------------------------------------------------------


def test_social_sign_ins_are_counted_by_provider_and_outcome(social, browser):
    person(social.oidc, "counted", "counted@example.com")
    sign_in(browser, social, "counted")
    sign_in(browser, social, "counted")

    metrics = browser.get(f"{social.base}/auth/metrics").text

    assert re.search(r'movies_auth_social_logins_total\{outcome="signed_up",provider="test"\} [1-9]', metrics)
    assert re.search(r'movies_auth_social_logins_total\{outcome="signed_in",provider="test"\} [1-9]', metrics)


def test_the_cli_shows_linked_identities_and_unlinks_them(social, browser, account):
    person(social.oidc, "cli-ada", account.email)
    assert sign_in(browser, social, "cli-ada", headers=account.headers, link="true").status_code == 201
    runner = social.app.test_cli_runner()

    shown = runner.invoke(args=["users", "show", account.email])
    as_json = json.loads(runner.invoke(args=["users", "show", account.email, "--json"]).stdout)
    unlinked = runner.invoke(args=["users", "unlink", account.email, "test"])
    again = runner.invoke(args=["users", "unlink", account.email, "test"])

    assert "social accounts" in shown.stdout and "test (ada@example.com" in shown.stdout
    assert [a["provider"] for a in as_json["social_accounts"]] == ["test"] and as_json["has_password"] is True
    assert unlinked.exit_code == 0 and "no longer linked to test" in unlinked.stdout
    assert again.exit_code != 0 and "No test account is linked" in again.output


def test_the_cli_refuses_to_unlink_the_last_way_in(social, browser):
    person(social.oidc, "cli-only", "cli-only@example.com")
    assert sign_in(browser, social, "cli-only").status_code == 200

    refused = social.app.test_cli_runner().invoke(args=["users", "unlink", "cli-only@example.com", "test"])

    assert refused.exit_code != 0 and "last way to sign in" in refused.output


# --- configuration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"oauth_providers": "google"}, "OAUTH_GOOGLE_CLIENT_ID"),
        (
            {"oauth_providers": "google", "oauth_provider_settings": {"GOOGLE_CLIENT_ID": "x"}},
            "OAUTH_GOOGLE_CLIENT_SECRET",
        ),
        (
            {
                "oauth_providers": "google",
                "oauth_provider_settings": {"GOOGLE_CLIENT_ID": "x", "GOOGLE_CLIENT_SECRET": "y"},
            },
            "OAUTH_GOOGLE_DISCOVERY_URL",
        ),
        (
            {"oauth_providers": "yandex", "oauth_provider_settings": {"YANDEX_CLIENT_ID": "x"}},
            "OAUTH_YANDEX_CLIENT_SECRET",
        ),
        ({"oauth_providers": "vk"}, "OAUTH_VK_CLIENT_ID"),
        (
            {"oauth_providers": "vk", "oauth_provider_settings": {"VK_CLIENT_ID": "1", "VK_TOKEN_URL": "ftp://x"}},
            "OAUTH_VK_TOKEN_URL",
        ),
        ({"oauth_providers": "Bad Name!"}, "OAUTH_PROVIDERS"),
        ({"oauth_redirect_allowlist": "not-a-url"}, "OAUTH_REDIRECT_ALLOWLIST"),
        ({"oauth_max_pending": 0}, "oauth_max_pending"),
        ({"oauth_max_pending": "many"}, "oauth_max_pending"),
    ],
)
def test_a_misconfigured_provider_fails_at_start_up_naming_the_setting(values, named):
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=None, **values)


def test_provider_variables_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("OAUTH_PROVIDERS", "google,vk")
    monkeypatch.setenv("OAUTH_GOOGLE_CLIENT_ID", "gid")
    monkeypatch.setenv("OAUTH_GOOGLE_CLIENT_SECRET", "gsecret")
    monkeypatch.setenv("OAUTH_GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration")
    monkeypatch.setenv("OAUTH_VK_CLIENT_ID", "123")

    loaded = Settings(_env_file=None)

    assert loaded.oauth_provider_names == ["google", "vk"]
    assert loaded.oauth_provider_settings["GOOGLE_CLIENT_ID"] == "gid"
    assert urlsplit(loaded.oauth_provider_settings["GOOGLE_DISCOVERY_URL"]).hostname == "accounts.google.com"


# --- a real browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    with headless_chromium() as driver:
        yield driver


def test_a_real_browser_signs_in_from_the_documented_links(social, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    person(social.oidc, "chromium-user", "chromium@example.com")
    wait = WebDriverWait(chromium, 20)
    # Swagger documents the providers' list; the list names where each sign-in starts.
    chromium.get(f"{social.base}/auth/apidocs/")
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"[data-path='{API}/oauth/providers']")))
    chromium.get(f"{social.base}{API}/oauth/providers")
    listed = json.loads(chromium.find_element(By.TAG_NAME, "body").text)
    login_url = next(item["login_url"] for item in listed if item["name"] == "test")

    chromium.get(login_url)
    field = wait.until(ready.element_to_be_clickable((By.NAME, "sub")))
    field.send_keys("chromium-user")
    field.submit()
    wait.until(lambda driver: "/oauth/test/callback" in driver.current_url)
    pair = json.loads(wait.until(ready.presence_of_element_located((By.TAG_NAME, "body"))).text)

    user_id = login_subject(pair)
    me = httpx.get(f"{social.base}{API}/users/{user_id}", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "chromium@example.com"
    assert "code=" in chromium.current_url and "token" not in chromium.current_url
