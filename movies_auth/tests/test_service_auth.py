"""Service accounts and service tokens, and who may call what: owners, other users, admins, services."""

from __future__ import annotations

import jwt as pyjwt
import pytest

from auth_support import API, PASSWORD, bearer, give, row_count
from movies_auth import create_app
from movies_auth.domain.passwords import passwords
from movies_auth.domain.service_accounts import secret_hash
from movies_auth.extensions import db
from movies_auth.models import ServiceAccount

SERVICE_TOKEN = f"{API}/service_token"
VALIDATION = f"{API}/auth_token/validation"
SUBJECT = "X-Subject-Token"
PRO_CHECK = "pro_read"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_service(runner):
    """Register a service with `flask services create` and return its secret."""

    def make(name: str) -> str:
        result = runner.invoke(args=["services", "create", name])
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    return make


@pytest.fixture
def service_token(client, make_service):
    """Register a service and return a token for it: `service_token("movies-api")`."""

    def token(name: str = "movies-api") -> str:
        response = client.post(SERVICE_TOKEN, json={"service_name": name, "secret": make_service(name)})
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    return token


def check(client, user_id: str, token: str, **headers: str):
    return client.get(
        f"{API}/users/{user_id}/combined_permissions/validation",
        query_string={"permissions": PRO_CHECK},
        headers={**bearer(token), **headers},
    )


# Issuing service tokens


def test_a_service_trades_its_secret_for_a_short_lived_service_token(client, make_service, settings):
    secret = make_service("movies-api")

    response = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret})

    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.jwt_service_token_expires.total_seconds() == 600
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["type"] == "service" and claims["service_name"] == "movies-api"
    assert claims["exp"] - claims["iat"] == 600


def test_a_service_learns_who_its_token_names(client, service_token):
    response = client.get(SERVICE_TOKEN, headers=bearer(service_token("movies-api")))

    assert response.status_code == 200
    assert response.json["service_name"] == "movies-api"
    assert 590 <= response.json["expires_in"] <= 600


@pytest.mark.parametrize("name", ["movies-api", "nobody"])
def test_a_wrong_secret_or_an_unknown_service_get_the_same_answer(client, make_service, name):
    make_service("movies-api")

    response = client.post(SERVICE_TOKEN, json={"service_name": name, "secret": "x" * 43})

    assert response.status_code == 401
    assert response.json == {"msg": "Invalid service name or secret"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "service_name"),
        ({"service_name": "movies-api"}, "secret"),
        ({"service_name": 7, "secret": "x"}, "service_name"),
        ({"service_name": "movies-api", "secret": "x" * 257}, "secret"),
        ({"service_name": "movies-api\x00", "secret": "x"}, "service_name"),
    ],
)
def test_malformed_credentials_are_a_clear_400(client, make_service, body, field):
    make_service("movies-api")

    response = client.post(SERVICE_TOKEN, json=body)

    assert response.status_code == 400
    assert field in response.json["errors"]


def test_credentials_must_be_json(client):
    response = client.post(SERVICE_TOKEN, data="service_name=movies-api", content_type="text/plain")

    assert response.status_code == 400
    assert response.json == {"msg": "Request body must be JSON (Content-Type: application/json)"}


def test_deleting_a_service_ends_its_tokens_and_its_logins(client, runner, make_service):
    secret = make_service("movies-api")
    token = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret}).json["access_token"]

    assert runner.invoke(args=["services", "delete", "movies-api", "--yes"]).exit_code == 0

    assert client.get(VALIDATION, headers=bearer(token)).json == {"msg": "Token has been revoked"}
    refused = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret})
    assert refused.status_code == 401


def test_rotating_a_secret_ends_the_old_secret_and_its_tokens(client, runner, make_service):
    old_secret = make_service("movies-api")
    old_token = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": old_secret}).json

    rotated = runner.invoke(args=["services", "rotate-secret", "movies-api"])

    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.stdout.strip()
    assert new_secret != old_secret and len(new_secret) == 43
    assert client.get(VALIDATION, headers=bearer(old_token["access_token"])).status_code == 401
    assert client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": old_secret}).status_code == 401
    fresh = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": new_secret})
    assert client.get(VALIDATION, headers=bearer(fresh.json["access_token"])).status_code == 200


def stored_hash(app, name: str) -> str:
    with app.app_context():
        return db.session.query(ServiceAccount).filter_by(name=name).one().secret_hash


def test_a_secret_is_kept_as_a_keyed_hmac_not_as_itself(client, app, make_service):
    secret = make_service("movies-api")

    kept = stored_hash(app, "movies-api")

    assert kept.startswith("$hmac-sha256$") and len(kept) == len("$hmac-sha256$") + 64
    assert secret not in kept
    assert client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret}).status_code == 200
    wrong = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret[:-1] + "x"})
    assert wrong.status_code == 401 and wrong.json == {"msg": "Invalid service name or secret"}


def test_the_hmac_key_is_the_apps_own(client, app, settings, make_service, tmp_path):
    """Another instance, with another key, keeps another hash of the same secret: a copied table is no oracle."""
    secret = make_service("movies-api")
    other = create_app(settings.model_copy(update={"instance_path": tmp_path, "service_secret_hash_key": None}))

    with other.app_context():
        assert secret_hash(secret) != stored_hash(app, "movies-api")


def test_an_argon2_hash_from_before_still_works_once_and_is_upgraded(client, app, make_service):
    """Secrets stored by an earlier release (argon2id) keep working; the first good use replaces the hash."""
    secret = make_service("movies-api")
    with app.app_context():
        service = db.session.query(ServiceAccount).filter_by(name="movies-api").one()
        service.secret_hash = passwords().hash(secret)
        db.session.commit()

    wrong = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": "x" * 43})
    assert wrong.status_code == 401
    assert stored_hash(app, "movies-api").startswith("$argon2id$")  # a wrong secret upgrades nothing

    first = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret})
    assert first.status_code == 200
    assert stored_hash(app, "movies-api").startswith("$hmac-sha256$")
    again = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret})
    assert again.status_code == 200
    assert client.get(VALIDATION, headers=bearer(first.json["access_token"])).status_code == 200


# The CLI


def test_services_are_listed_without_their_secrets(runner, make_service, app):
    secret = make_service("movies-api")

    table = runner.invoke(args=["services", "list"]).stdout
    listing = runner.invoke(args=["services", "list", "--json"]).stdout

    assert table.splitlines()[0].split() == ["NAME", "CREATED", "SECRET", "CHANGED", "UUID"]
    assert "movies-api" in table and "movies-api" in listing
    assert secret not in table + listing
    assert "$argon2id$" not in table + listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["services", "create", "Movies API"], "name: Use 1 to 64 lower-case letters"),
        (["services", "create", "movies-api"], "A service with this name already exists"),
        (["services", "rotate-secret", "nobody"], "No service named 'nobody'"),
        (["services", "delete", "nobody", "--yes"], "No service named 'nobody'"),
        (["services", "ensure", "movies-api", "--secret-env", "UNSET_VARIABLE"], "UNSET_VARIABLE is not set"),
    ],
)
def test_refused_service_commands_say_why_and_change_nothing(runner, make_service, app, args, message):
    make_service("movies-api")

    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert row_count(app, ServiceAccount) == 1


def test_ensure_provisions_a_service_from_the_environment_idempotently(client, runner, monkeypatch):
    secret = "s3cret-from-the-deployment-0123456789abcdef"
    monkeypatch.setenv("MOVIES_API_SECRET", secret)
    ensure = ["services", "ensure", "movies-api", "--secret-env", "MOVIES_API_SECRET"]

    assert "created" in runner.invoke(args=ensure).output
    token = client.post(SERVICE_TOKEN, json={"service_name": "movies-api", "secret": secret}).json["access_token"]
    assert "already has" in runner.invoke(args=ensure).output
    assert client.get(VALIDATION, headers=bearer(token)).status_code == 200

    monkeypatch.setenv("MOVIES_API_SECRET", secret[::-1])
    assert "now has" in runner.invoke(args=ensure).output
    assert client.get(VALIDATION, headers=bearer(token)).status_code == 401

    monkeypatch.setenv("MOVIES_API_SECRET", "short")
    result = runner.invoke(args=ensure)
    assert result.exit_code == 1 and "at least 32 characters" in result.output


# Guards: the permission checks


@pytest.mark.parametrize("caller", ["owner", "admin", "service"])
def test_the_permission_check_answers_the_owner_an_admin_and_a_service(
    client, app, account, admin, service_token, caller
):
    give(app, account, role="subscriber")
    token = {"owner": account.access_token, "admin": admin.access_token, "service": service_token()}[caller]

    response = check(client, account.uuid, token)

    assert response.status_code == 200
    assert response.json == {"valid": True}


def test_the_permission_check_refuses_another_user(client, account, make_account):
    stranger = make_account("eve@example.com")

    response = check(client, account.uuid, stranger.access_token)

    assert response.status_code == 403


def test_a_service_vouches_for_a_user_with_the_users_own_token(client, account, service_token):
    response = check(client, account.uuid, service_token(), **{SUBJECT: account.access_token})

    assert response.status_code == 200
    assert response.json == {"valid": False}


def test_a_users_token_vouches_only_for_that_user(client, account, make_account, service_token):
    stranger = make_account("eve@example.com")

    response = check(client, account.uuid, service_token(), **{SUBJECT: stranger.access_token})

    assert response.status_code == 403
    assert response.json == {"msg": "The token in X-Subject-Token belongs to another user"}


@pytest.mark.parametrize(
    ("subject", "status", "message"),
    [
        ("revoked", 401, "Token has been revoked"),
        ("refresh", 422, "Only user access tokens are allowed"),
        ("service", 422, "Only user access tokens are allowed"),
        ("garbage", 422, "Not enough segments"),
    ],
)
def test_a_dead_or_wrong_subject_token_is_refused_as_the_subjects_fault(
    client, account, service_token, subject, status, message
):
    token = service_token()
    if subject == "revoked":
        client.delete(f"{API}/auth_token", headers=account.headers)
    sent = {"revoked": account.access_token, "refresh": account.refresh_token, "service": token, "garbage": "x.y"}

    response = check(client, account.uuid, token, **{SUBJECT: sent[subject]})

    assert response.status_code == status
    assert response.json == {"msg": message, "errors": {SUBJECT: [message]}}


def test_token_validation_checks_the_subject_token_for_a_service(client, account, service_token):
    token = service_token()

    assert client.get(VALIDATION, headers={**bearer(token), SUBJECT: account.access_token}).status_code == 200
    client.delete(f"{API}/auth_token", headers=account.headers)
    revoked = client.get(VALIDATION, headers={**bearer(token), SUBJECT: account.access_token})
    assert revoked.status_code == 401
    assert revoked.json["errors"] == {SUBJECT: ["Token has been revoked"]}


def test_only_a_service_may_vouch_for_a_token(client, account, make_account):
    stranger = make_account("eve@example.com")

    response = client.get(VALIDATION, headers={**account.headers, SUBJECT: stranger.access_token})

    assert response.status_code == 403
    assert response.json == {"msg": "Only a service may send X-Subject-Token"}


# Guards: what a service token never reaches


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/{uuid}"),
        ("patch", "/users/{uuid}"),
        ("delete", "/users/{uuid}"),
        ("post", "/users/{uuid}/password"),
        ("get", "/users/{uuid}/logins"),
        ("get", "/roles"),
        ("post", "/permissions"),
        ("get", "/users/{uuid}/roles"),
        ("delete", "/auth_token"),
        ("delete", "/auth_token/all"),
    ],
)
def test_a_service_token_never_reaches_user_or_admin_routes(client, app, account, service_token, method, path):
    response = getattr(client, method)(
        f"{API}{path.format(uuid=account.uuid)}", headers=bearer(service_token()), json={}
    )

    assert response.status_code == 403
    assert response.json == {"msg": "Service tokens may not use this route"}
    assert client.get(VALIDATION, headers=account.headers).status_code == 200


def test_a_service_token_cannot_refresh(client, service_token):
    response = client.post(f"{API}/auth_token/token_refresh", headers=bearer(service_token()))

    assert response.status_code == 422
    assert response.json == {"msg": "Only refresh tokens are allowed"}


def test_a_user_token_is_refused_on_a_service_only_route(client, account, superuser):
    for user in (account, superuser):
        response = client.get(SERVICE_TOKEN, headers=user.headers)

        assert response.status_code == 403
        assert response.json == {"msg": "Only a service may use this route"}


def test_a_service_allowed_by_settings_uses_the_user_endpoints_as_an_admin_would(
    settings, account, service_token, client
):
    billing = service_token("billing")
    other = service_token("movies-api")
    allowing = create_app(settings.model_copy(update={"user_api_services": ["billing"]})).test_client()

    assert allowing.get(f"{API}/users/{account.uuid}", headers=bearer(billing)).json["email"] == account.email
    assert allowing.get(f"{API}/users/{account.uuid}/logins", headers=bearer(billing)).status_code == 200
    assert allowing.get(f"{API}/users/{account.uuid}", headers=bearer(other)).status_code == 403
    assert allowing.get(f"{API}/roles", headers=bearer(billing)).status_code == 403
    assert client.get(f"{API}/users/{account.uuid}", headers=bearer(billing)).status_code == 403


def test_a_password_change_by_the_owner_still_works_beside_services(client, account, service_token):
    service = service_token()
    changed = client.post(
        f"{API}/users/{account.uuid}/password",
        json={"old_password": PASSWORD, "new_password": "a new horse battery"},
        headers=account.headers,
    )

    assert changed.status_code == 204
    assert client.get(VALIDATION, headers=bearer(service)).status_code == 200
