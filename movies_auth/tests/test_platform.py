"""Cross-cutting behaviour: JSON errors, request ids and logs, health probes, settings, and the API docs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import redis
from openapi_spec_validator import validate as validate_openapi
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

import movies_auth
from auth_support import API, PASSWORD, bearer, login, register
from movies_auth.domain import accounts
from movies_auth.settings import Settings

# JSON errors


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/nowhere", 404),
        ("get", f"{API}/users", 405),
        ("put", f"{API}/auth_token", 405),
        ("post", f"{API}/auth_token/validation", 405),
    ],
)
def test_framework_errors_are_json(client, method, path, status):
    response = getattr(client, method)(path)

    assert response.status_code == status
    assert response.is_json
    assert set(response.json) == {"msg"} and response.json["msg"]


def test_405_names_the_allowed_methods(client):
    assert "POST" in client.get(f"{API}/users").headers["Allow"]


def test_an_unexpected_failure_is_a_json_500_without_details(client, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(accounts, "register", explode)

    response = register(client, "ada@example.com")

    assert response.status_code == 500
    assert response.json == {"msg": "Internal server error"}
    assert "secret internals" in caplog.text  # logged for operators, never shown to clients


def test_redis_down_makes_validation_fail_closed_with_503(app, client, account, monkeypatch):
    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(app.extensions["redis"], "mget", unreachable)

    response = client.get(f"{API}/auth_token/validation", headers=account.headers)

    assert response.status_code == 503
    assert response.json == {"msg": "Token store is unavailable, try again shortly"}


def test_database_down_is_a_503(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(accounts, "find_by_email", unreachable)

    response = login(client, "ada@example.com")

    assert response.status_code == 503
    assert response.json == {"msg": "Database is unavailable, try again shortly"}


# Request ids and logs


def test_a_request_id_is_generated_and_echoed(client):
    first = client.get("/auth/healthz").headers["X-Request-Id"]
    second = client.get("/auth/healthz").headers["X-Request-Id"]

    assert len(first) == 32 and first != second


def test_a_given_request_id_is_echoed_and_logged(client, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/auth/healthz", headers={"X-Request-Id": "req-42"})

    assert response.headers["X-Request-Id"] == "req-42"
    access_lines = [r for r in caplog.records if r.name == "movies_auth.access"]
    assert access_lines and all(r.request_id == "req-42" for r in access_lines)
    assert "GET /auth/healthz 200" in access_lines[-1].getMessage()


def test_an_unsafe_request_id_is_replaced(client):
    for unsafe in ("has spaces; and=semicolons", "x" * 129, "<script>"):
        response = client.get("/auth/healthz", headers={"X-Request-Id": unsafe})

        assert len(response.headers["X-Request-Id"]) == 32


def test_a_path_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/auth/api/v1/roles/x%0A2026-01-01 INFO movies_auth.access [-] GET /auth/healthz 200%0D%00")

    [line] = [r.getMessage() for r in caplog.records if r.name == "movies_auth.access"]
    method, path, status, _duration = line.split(" ")
    assert (method, status) == ("GET", "404")
    assert path.startswith("/auth/api/v1/roles/x%0A2026-01-01%20INFO%20")
    assert not any(character in line for character in "\r\n\x00")


def test_every_log_line_of_a_request_carries_its_id(client, caplog):
    caplog.set_level(logging.INFO)

    for _ in range(2):  # a registration, then a conflict
        client.post(
            f"{API}/users",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Request-Id": "trace-me"},
        )

    lines = [r for r in caplog.records if r.name.startswith("movies_auth")]
    assert len(lines) >= 3
    assert {r.request_id for r in lines} == {"trace-me"}


def test_logs_never_contain_passwords_or_tokens(client, caplog):
    caplog.set_level(logging.DEBUG)
    register(client, "ada@example.com")
    tokens = login(client, "ada@example.com").json
    login(client, "ada@example.com", "a wrong password")
    client.get(f"{API}/auth_token/validation?token={tokens['access_token']}", headers=bearer(tokens["access_token"]))
    client.post(f"{API}/auth_token/token_refresh", headers=bearer(tokens["refresh_token"]))

    for secret in (PASSWORD, "a wrong password", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in caplog.text


# Health


def test_the_index_names_the_service_and_every_link_answers(client):
    response = client.get("/auth/")

    assert response.status_code == 200
    assert response.json["service"] == "movies_auth"
    assert response.json["version"] == movies_auth.__version__
    assert set(response.json["links"]) == {"swagger_ui", "openapi", "jwks", "health", "readiness"}
    for link in response.json["links"].values():
        assert client.get(link).status_code == 200, link


def test_liveness(client):
    response = client.get("/auth/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readiness_checks_the_database_and_redis(app, client):
    response = client.get("/auth/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "ok"
    checks = response.json["checks"]
    assert (checks["database"], checks["redis"]) == ("ok", "ok")
    # The embedded Redis, or a real one that persists or (CI's) does not: never one that evicts.
    durable = {"in memory"} if app.extensions["settings"].redis_url is None else {"ok", "not persistent"}
    assert checks["redis_durability"] in durable


def test_readiness_names_a_dependency_that_is_down(app, client, monkeypatch):
    def unreachable():
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(app.extensions["redis"], "ping", unreachable)

    response = client.get("/auth/readyz")

    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"] == "ok" and response.json["checks"]["redis"] == "unavailable"


# Settings


PRODUCTION = {
    "_env_file": None,
    "app_env": "production",
    "database_url": "postgresql://auth@db/auth",
    "redis_url": "redis://redis:6379/0",
    "jwt_keys_dir": "/var/lib/movies_auth/jwt-keys",
}


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "must be set"),
        ("", "must be set"),
        ("too-short", "at least 32 characters"),
        ("change-me-change-me-change-me-change-me", "example value"),
    ],
)
def test_production_refuses_a_missing_short_or_example_secret(secret, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**PRODUCTION, jwt_algorithm="HS256", jwt_secret_key=secret)


@pytest.mark.parametrize("store", ["database_url", "redis_url"])
def test_production_refuses_the_embedded_stores(store):
    with pytest.raises(ValidationError, match="must be set in production"):
        Settings(**{**PRODUCTION, store: None}, jwt_secret_key="x" * 64)


def test_production_signing_keys_must_live_outside_the_container():
    with pytest.raises(ValidationError, match="JWT_KEYS_DIR must be set in production"):
        Settings(**{**PRODUCTION, "jwt_keys_dir": None})


def test_production_starts_with_proper_settings():
    assert Settings(**PRODUCTION).app_env == "production"
    assert Settings(**PRODUCTION, jwt_algorithm="HS256", jwt_secret_key="5f0c" * 16).jwt_algorithm == "HS256"


def test_argon2_parameters_below_owasp_are_refused():
    with pytest.raises(ValidationError, match="OWASP"):
        Settings(_env_file=None, argon2_memory_cost=8192, argon2_time_cost=1)


def test_refresh_tokens_must_outlive_access_tokens():
    with pytest.raises(ValidationError, match="longer"):
        Settings(
            _env_file=None, jwt_access_token_expires=timedelta(hours=2), jwt_refresh_token_expires=timedelta(hours=1)
        )


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("JWT_ACCESS_TOKEN_EXPIRES", "300")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")

    settings = Settings(_env_file=None)

    assert settings.jwt_access_token_expires == timedelta(minutes=5)
    assert settings.trusted_proxies == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
        (None, "sqlite:////srv/instance/movies_auth.sqlite3"),
    ],
)
def test_a_plain_database_url_gets_our_driver(url, expected):
    assert Settings(_env_file=None, database_url=url).sqlalchemy_url("/srv/instance") == expected


def test_without_a_secret_a_development_instance_generates_and_keeps_one(tmp_path):
    settings = Settings(_env_file=None)

    first = settings.jwt_secret(str(tmp_path))

    assert len(first) == 64
    assert settings.jwt_secret(str(tmp_path)) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0


# API docs


def test_swagger_ui_is_served(client):
    response = client.get("/auth/apidocs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.data
    assert b"/auth/apispec.json" in response.data


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/auth/apispec.json")
    assert response.status_code == 200
    return response.json


def test_every_route_of_the_app_is_in_the_spec(app, spec):
    documented = {
        (path.replace("{", "<").replace("}", ">"), method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    }
    routes = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        # Not the API: the docs themselves, and Prometheus' text format for the monitoring network.
        if rule.endpoint not in {"static", "metrics.scrape"} and not rule.endpoint.startswith("flasgger.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert routes - documented == set()
    assert len(routes) >= 12


def test_the_spec_is_a_valid_openapi_document(spec):
    validate_openapi(spec)  # raises, naming the offending node, when it is not


def test_every_ref_in_the_spec_resolves(spec):
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = list(refs(spec))
    assert found
    for ref in found:
        target = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


def test_the_spec_is_generated_from_the_validating_schemas(spec):
    registration = spec["paths"]["/auth/api/v1/users"]["post"]
    schema_ref = registration["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]

    assert schema["required"] == ["email", "password"]
    assert schema["properties"]["password"]["minLength"] == 8
    assert schema["properties"]["password"]["maxLength"] == 128
    assert set(registration["responses"]) >= {"201", "400", "409", "429"}


def test_protected_operations_declare_bearer_auth(spec):
    validation = spec["paths"]["/auth/api/v1/auth_token/validation"]["get"]

    assert validation["security"] == [{"bearerAuth": []}]
    assert set(validation["responses"]) >= {"200", "401", "422"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
