"""The Swagger examples: each error status shows its own message, one the route really answers."""

from __future__ import annotations

from collections import defaultdict

import pytest

from auth_support import API, PASSWORD, bearer, login, register

PATH_VALUES = {"user_id": "00000000-0000-0000-0000-000000000000", "session_id": "A" * 22}


@pytest.fixture
def spec(client) -> dict:
    return client.get("/auth/apispec.json").json


def operations(spec: dict):
    """Every (method, path, operation) of the spec."""
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def error_example(operation: dict, status: int) -> dict:
    return operation["responses"][str(status)]["content"]["application/json"]["example"]


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(f"{{{name}}}", value)
    return path.replace("{name}", "critic").replace("{permission_name}", "beta").replace("{role_name}", "critic")


def test_every_error_status_has_an_example_and_no_message_stands_for_two_statuses(spec):
    statuses_of = defaultdict(set)
    for _method, _path, operation in operations(spec):
        for status in operation["responses"]:
            if "Error" in str(operation["responses"][status]):  # the Error and ValidationError bodies
                example = error_example(operation, int(status))
                assert example["msg"], (operation["operationId"], status)
                statuses_of[example["msg"]].add(status)

    assert {message: statuses for message, statuses in statuses_of.items() if len(statuses) > 1} == {}
    assert len(statuses_of) >= 15


def test_only_login_says_invalid_email_or_password(spec):
    saying_it = {
        (operation["operationId"], status)
        for _method, _path, operation in operations(spec)
        for status in operation["responses"]
        if "Invalid email or password" in str(operation["responses"][status])
    }

    assert saying_it == {("tokens_login", "401")}


def test_the_login_example_is_a_whole_token_pair(spec, client, account):
    pair = spec["components"]["schemas"]["TokenPair"]["properties"]
    answered = login(client, account.email, account.password).json

    assert {name: "example" in field for name, field in pair.items()} == dict.fromkeys(answered, True)
    assert pair["token_type"]["example"] == answered["token_type"] == "Bearer"


def test_each_401_and_422_example_is_what_the_route_answers(spec, client):
    checked = 0
    for method, path, operation in operations(spec):
        for status, headers in ((401, {}), (422, bearer("not-a-token"))):
            example = operation["responses"].get(str(status), {}).get("content", {}).get("application/json", {})
            if example.get("example", {}).get("msg") not in {"Missing Authorization Header", "Not enough segments"}:
                continue
            response = client.open(concrete(path), method=method.upper(), headers=headers, json={})
            assert (response.status_code, response.json) == (status, example["example"]), (method, path)
            checked += 1

    assert checked >= 60


def test_the_credential_and_registration_examples_are_what_the_routes_answer(spec, client, account):
    def example(path: str, status: int) -> dict:
        return error_example(spec["paths"][path]["post"], status)

    wrong_password = login(client, account.email, PASSWORD + "!")
    wrong_secret = client.post(f"{API}/service_token", json={"service_name": "billing", "secret": "x" * 43})
    taken = register(client, account.email)
    not_an_email = register(client, "not-an-email")

    assert wrong_password.json == example(f"{API}/auth_token", 401)
    assert wrong_secret.json == example(f"{API}/service_token", 401)
    assert taken.json == example(f"{API}/users", 409)
    assert not_an_email.json == example(f"{API}/users", 400)
