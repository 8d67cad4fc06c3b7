"""The published spec says what the server enforces: every string a request sends is published with the rules the
server checks it by (no control characters, lengths, an empty condition refused), and the server refuses what
the spec forbids."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from auth_support import API

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`

FORBIDDEN = ["a\u0000b", "tab\there", "line\nbreak", "\u007f", "\u0085", "trailing\n"]
ALLOWED = ["plain text", "Ünïcödé 日本", "with spaces and symbols !@#$%^&*()"]


def ecma(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern as JSON Schema reads it (ECMA-262): searched, and `$` is the end of the text only
    (Python's `$` also matches before a final line break)."""
    return re.compile(pattern.removesuffix("$") + r"\Z" if pattern.endswith("$") else pattern)


@pytest.fixture
def spec(client) -> dict:
    return client.get("/auth/apispec.json").json


def request_strings(spec: dict) -> Iterator[tuple[str, dict]]:
    """Every string property of every request body and query schema: (where, its schema)."""
    components = spec["components"]["schemas"]

    def resolved(schema: dict) -> dict:
        return components[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            bodies = [content["schema"] for content in operation.get("requestBody", {}).get("content", {}).values()]
            for body in bodies:
                for name, field in resolved(body).get("properties", {}).items():
                    if field.get("type") == "string" and not field.get("readOnly"):
                        yield f"{method.upper()} {path} {name}", field
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "string":
                    yield f"{method.upper()} {path} ?{parameter['name']}", parameter["schema"]


def test_every_request_string_is_published_without_control_characters(spec):
    # A condition is a JSON document, where tabs and line breaks may stand between tokens: see below.
    strings = {where: schema for where, schema in request_strings(spec) if not where.endswith("?permissions")}

    assert len(strings) >= 20
    for where, schema in strings.items():
        assert "pattern" in schema, where
        pattern = ecma(schema["pattern"])
        assert not [text for text in FORBIDDEN if pattern.search(text)], where


def test_plain_text_passes_the_published_pattern_of_free_text(spec):
    strings = dict(request_strings(spec))
    # Names (of roles, permissions, services), link tokens, social sign-in states and one-time codes have narrow
    # spellings of their own.
    free_text = {
        where: schema
        for where, schema in strings.items()
        if "name" not in where.rsplit(" ", 1)[-1] and not where.endswith((" token", "?state", "oauth code"))
    }

    assert any("password" in where for where in free_text)
    for where, schema in free_text.items():
        assert all(ecma(schema["pattern"]).search(text) for text in ALLOWED), where


def test_an_empty_condition_is_published_as_refused_and_refused(spec, client, account):
    [(_, condition)] = [item for item in request_strings(spec) if item[0].endswith("?permissions")]
    response = client.get(
        f"{API}/users/{account.uuid}/combined_permissions/validation?permissions=", headers=account.headers
    )

    assert condition["minLength"] == 1
    assert response.status_code == 400
    assert not [text for text in ["a\u0000b", "\u007f", "\u0085"] if ecma(condition["pattern"]).search(text)]
    assert ecma(condition["pattern"]).search('{"any": [\n\t"pro_read"\r\n]}')


@pytest.mark.parametrize("text", FORBIDDEN)
def test_the_server_refuses_what_the_pattern_forbids(client, text):
    response = client.post(f"{API}/users", json={"email": "ada@example.com", "password": "a long pass" + text})

    assert response.status_code == 400
    assert "password" in response.json["errors"]
