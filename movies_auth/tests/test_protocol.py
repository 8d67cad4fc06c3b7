"""HTTP as other clients expect it: a 401 carries an RFC 6750 challenge, `Retry-After` comes only with 429 and 503,
and a 204 has neither a body nor a content type."""

from __future__ import annotations

import time

import pytest
from test_tokens import claims_of, sign

from auth_support import API, bearer, login, register, service_token

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`

VALIDATION = f"{API}/auth_token/validation"
REALM = 'Bearer realm="movies_auth"'


def test_a_401_without_a_token_names_the_scheme_and_realm(client):
    response = client.get(VALIDATION)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM


def test_a_failed_login_names_the_scheme_and_realm(client, account):
    response = login(client, account.email, "wrong password!")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM


def test_a_refused_token_is_an_invalid_token_challenge_saying_why(app, client, account):
    expired = sign(claims_of(account.access_token), app, exp=int(time.time()) - 5)
    client.delete(f"{API}/auth_token", headers=account.headers)

    for token, reason in [(expired, "Token has expired"), (account.access_token, "Token has been revoked")]:
        response = client.get(VALIDATION, headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == (f'{REALM}, error="invalid_token", error_description="{reason}"')


def test_a_reused_refresh_token_gets_the_challenge_too(client, account):
    refresh = f"{API}/auth_token/token_refresh"
    newer = client.post(refresh, headers=bearer(account.refresh_token)).json["refresh_token"]
    client.post(refresh, headers=bearer(newer))

    # Two generations old: past the grace the token just exchanged gets, so re-use.
    reused = client.post(refresh, headers=bearer(account.refresh_token))

    assert reused.status_code == 401
    assert reused.headers["WWW-Authenticate"].startswith(f'{REALM}, error="invalid_token", error_description="')


def test_answers_other_than_401_carry_no_challenge(client, account):
    assert "WWW-Authenticate" not in client.get(VALIDATION, headers=account.headers).headers
    assert "WWW-Authenticate" not in client.get(VALIDATION, headers=bearer("not.a.token")).headers  # 422


def test_retry_after_only_on_a_refusal(client, account, limits):
    limits(register_rate_limit_per_ip="1 per minute")
    logged_in = login(client, account.email)
    registered = register(client, "grace@example.com")
    refused = register(client, "linus@example.com")

    assert (logged_in.status_code, registered.status_code, refused.status_code) == (200, 201, 429)
    assert "Retry-After" not in logged_in.headers
    assert "Retry-After" not in registered.headers
    assert 0 < int(refused.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "call",
    [
        lambda client, account: client.delete(f"{API}/auth_token", headers=account.headers),
        lambda client, account: client.delete(f"{API}/auth_token/all", headers=account.headers),
        lambda client, account: client.post(
            f"{API}/users/{account.uuid}/password",
            headers=account.headers,
            json={"old_password": account.password, "new_password": "a brand new passphrase"},
        ),
        lambda client, account: client.delete(f"{API}/users/{account.uuid}", headers=account.headers),
    ],
    ids=["logout", "logout everywhere", "password change", "account deletion"],
)
def test_a_204_has_no_body_and_no_content_type(client, account, call):
    response = call(client, account)

    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert "Content-Length" not in response.headers


def test_a_refused_subject_token_does_not_call_the_services_own_token_invalid(app, client, account):
    token = service_token(app, client, "movies-api")
    expired = sign(claims_of(account.access_token), app, exp=int(time.time()) - 5)

    response = client.get(VALIDATION, headers={**bearer(token), "X-Subject-Token": expired})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM
