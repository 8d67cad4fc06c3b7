"""Hostile bodies on every route that reads one: each is a clear JSON 4xx and nothing is written."""

from __future__ import annotations

import json

import pytest

from auth_support import API, PASSWORD, give, row_count
from movies_auth.models import (
    LoginAttempt,
    Permission,
    Role,
    ServiceAccount,
    User,
    role_permissions,
    user_permissions,
    user_roles,
)

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`

STATE = (User, LoginAttempt, Permission, Role, ServiceAccount, role_permissions, user_permissions, user_roles)
# Every route with a JSON body ({user} is the caller's own id), and a string field its schema reads.
BODY_ROUTES = [
    ("POST", "/users", "email"),
    ("POST", "/auth_token", "email"),
    ("POST", "/service_token", "service_name"),
    ("PATCH", "/users/{user}", "first_name"),
    ("POST", "/users/{user}/password", "new_password"),
    ("POST", "/users/{user}/roles", "name"),
    ("POST", "/users/{user}/permissions", "name"),
    ("POST", "/permissions", "name"),
    ("PATCH", "/permissions/pro_read", "description"),
    ("POST", "/roles", "name"),
    ("PATCH", "/roles/subscriber", "description"),
    ("POST", "/roles/subscriber/permissions", "name"),
]


def bad_bodies(field: str) -> dict[str, tuple[bytes, str, int, str]]:
    """name: (raw body, content type, status, words the message holds)."""
    as_json = "application/json"
    return {
        "duplicate key": (
            f'{{"{field}": "a", "{field}": "b"}}'.encode(),
            as_json,
            400,
            f"names '{field}' more than once",
        ),
        "NUL byte": (json.dumps({field: "ab\u0000cd"}).encode(), as_json, 400, "Invalid input"),
        "lone surrogate": (f'{{"{field}": "ab\\ud800cd"}}'.encode(), as_json, 400, "Invalid input"),
        "invalid UTF-8": (f'{{"{field}": "ab'.encode() + b'\xff\xfe"}', as_json, 400, "not valid JSON"),
        "one megabyte": (json.dumps({field: "x" * 1_000_000}).encode(), as_json, 413, "too large"),
        "deep nesting": (b"[" * 20_000 + b"]" * 20_000, as_json, 400, "nested too deeply"),
        "not an object": (json.dumps([{field: "x"}]).encode(), as_json, 400, "Invalid input"),
        "truncated": (f'{{"{field}": "x"'.encode(), as_json, 400, "not valid JSON"),
        "empty": (b"", as_json, 400, "not valid JSON"),
        "plain text": (json.dumps({field: "x"}).encode(), "text/plain", 400, "must be JSON"),
        "form": (f"{field}=x".encode(), "application/x-www-form-urlencoded", 400, "must be JSON"),
        "no content type": (json.dumps({field: "x"}).encode(), "", 400, "must be JSON"),
    }


@pytest.fixture
def root(app, make_account):
    """A superuser: every route lets it through to the body."""
    account = make_account("root@example.com")
    give(app, account, role="superuser")
    return account


def snapshot(app) -> list[int]:
    return [row_count(app, table) for table in STATE]


@pytest.mark.parametrize(("method", "path", "field"), BODY_ROUTES, ids=lambda value: str(value))
def test_every_hostile_body_is_a_clear_4xx_that_writes_nothing(app, client, root, method, path, field):
    url = API + path.format(user=root.uuid)
    before = snapshot(app)
    for name, (raw, content_type, status, words) in bad_bodies(field).items():
        response = client.open(url, method=method, data=raw, headers={**root.headers, "Content-Type": content_type})

        assert response.status_code == status, (name, response.status_code, response.get_data(as_text=True)[:200])
        assert response.is_json and words in json.dumps(response.json), (name, response.json)
        if response.json["msg"] == "Invalid input":
            assert field in response.json["errors"] or "_schema" in response.json["errors"], (name, response.json)
        assert snapshot(app) == before, name
    assert client.get(f"{API}/users/{root.uuid}", headers=root.headers).status_code == 200  # the session lives on


def test_an_email_and_its_decomposed_twin_are_one_account(app, client):
    composed, decomposed = "jos\u00e9@example.com", "jose\u0301@example.com"
    assert client.post(f"{API}/users", json={"email": composed, "password": PASSWORD}).status_code == 201

    twin = client.post(f"{API}/users", json={"email": decomposed, "password": PASSWORD})
    logged_in = client.post(f"{API}/auth_token", json={"email": decomposed, "password": PASSWORD})

    assert twin.status_code == 409
    assert logged_in.status_code == 200
    assert row_count(app, User) == 1
