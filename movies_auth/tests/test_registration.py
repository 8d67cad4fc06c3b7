"""POST /users: registration, its validation, and races on one email."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import extract_parameters

from auth_support import API, PASSWORD, register, row_count
from movies_auth.extensions import db
from movies_auth.models import User


def test_registration_answers_the_new_user(client):
    response = register(client, "ada@example.com", first_name="Ada", last_name="Lovelace")

    assert response.status_code == 201
    body = response.json
    assert set(body) == {"uuid", "email", "first_name", "last_name", "email_verified"}
    assert body["email_verified"] is False
    assert body["email"] == "ada@example.com"
    assert (body["first_name"], body["last_name"]) == ("Ada", "Lovelace")


def test_names_are_optional(client):
    body = register(client, "ada@example.com").json

    assert body["first_name"] is None and body["last_name"] is None


def test_email_is_stored_lower_case(client):
    assert register(client, "  Ada@Example.COM ").json["email"] == "ada@example.com"


@pytest.mark.parametrize("twin", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@example.com"])
def test_taken_email_is_a_conflict_whatever_its_case(app, client, twin):
    register(client, "ada@example.com")

    response = register(client, twin)

    assert response.status_code == 409
    assert response.json == {"msg": "A user with this email already exists"}
    assert row_count(app, User) == 1


def test_unicode_normalization_twins_are_one_email(app, client):
    register(client, "jos\u00e9@example.com")  # NFC: é as one code point

    response = register(client, "jose\u0301@example.com")  # NFD: e + combining accent

    assert response.status_code == 409
    assert row_count(app, User) == 1


def test_password_is_stored_as_argon2id_at_the_configured_cost(app, client, settings):
    register(client, "ada@example.com")

    with app.app_context():
        stored = db.session.query(User).one().password_hash
    parameters = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert parameters.memory_cost == settings.argon2_memory_cost
    assert parameters.time_cost == settings.argon2_time_cost


VALID = {"email": "ada@example.com", "password": PASSWORD}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({**VALID, "email": "not-an-email"}, "email"),
        ({**VALID, "email": "ada@"}, "email"),
        ({**VALID, "email": 5}, "email"),
        ({**VALID, "email": None}, "email"),
        ({**VALID, "password": "short"}, "password"),
        ({**VALID, "password": "x" * 129}, "password"),
        ({**VALID, "password": ["a", "list"]}, "password"),
        ({**VALID, "password": 12345678}, "password"),
        ({**VALID, "password": "nul\x00byte-password"}, "password"),
        ({**VALID, "first_name": "Ada\x00"}, "first_name"),
        ({**VALID, "first_name": "A" * 101}, "first_name"),
        ({**VALID, "last_name": {"nested": "object"}}, "last_name"),
        ({**VALID, "email": "ada\x00@example.com"}, "email"),
        ({**VALID, "is_superuser": True}, "is_superuser"),
        ({**VALID, "roles": ["superuser"]}, "roles"),
    ],
)
def test_invalid_registration_is_refused_and_writes_nothing(app, client, body, field):
    response = client.post(f"{API}/users", json=body)

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"
    assert field in response.json["errors"]
    assert row_count(app, User) == 0


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        ("email=ada@example.com", "application/x-www-form-urlencoded", "must be JSON"),
        (json.dumps(VALID), "text/plain", "must be JSON"),
        ('{"email": "ada@example.com", ', "application/json", "not valid JSON"),
        ("", "application/json", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_refused(app, client, data, content_type, message):
    response = client.post(f"{API}/users", data=data, content_type=content_type)

    assert response.status_code == 400
    assert message in response.json["msg"]
    assert row_count(app, User) == 0


@pytest.mark.parametrize("body", [[VALID], "ada@example.com", 42, None])
def test_a_json_body_that_is_not_an_object_is_refused(app, client, body):
    response = client.post(f"{API}/users", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json["msg"]
    assert row_count(app, User) == 0


def test_deeply_nested_json_is_refused(app, client):
    response = client.post(f"{API}/users", data="[" * 10_000 + "]" * 10_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json == {"msg": "Request body is nested too deeply"}
    assert row_count(app, User) == 0


def test_lone_surrogates_are_refused(app, client):
    raw = '{"email": "ada@example.com", "password": "bad \\ud800 surrogate", "first_name": "x"}'

    response = client.post(f"{API}/users", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert "password" in response.json["errors"]
    assert row_count(app, User) == 0


def test_a_one_megabyte_password_is_too_large(app, client):
    response = client.post(f"{API}/users", json={**VALID, "password": "x" * 1_000_000})

    assert response.status_code == 413
    assert response.json == {"msg": "Request body is too large"}
    assert row_count(app, User) == 0


def test_concurrent_registrations_of_one_email_create_one_user(app):
    def attempt(index: int) -> int:
        email = "race@example.com" if index % 2 else "RACE@example.com"
        return register(app.test_client(), email).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(50)))

    assert sorted(statuses) == [201] + [409] * 49
    assert row_count(app, User) == 1
