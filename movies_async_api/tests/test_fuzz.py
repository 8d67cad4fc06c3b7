"""Property-based fuzzing of every operation in the served OpenAPI spec (schemathesis), with valid and invalid
input, as an anonymous caller, a subscriber and a bearer of garbage: no input is a 500, and every answer is
one the spec documents, in the documented content type and shape."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from movies_support import bearer
from testkit.fuzzing import fuzz_every_operation

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def callers(auth_service) -> list[dict]:
    subscriber = auth_service.new_user(role="subscriber")[1]["access_token"]
    return [{}, bearer(subscriber), bearer("not-a-token")]


def test_every_operation_holds_to_the_spec(client, callers):
    spec = schemathesis.openapi.from_dict(client.get("/api/openapi.json").json())

    def send(case) -> None:
        for headers in callers:
            request = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
            if not request.get("cookies"):  # none in this spec; the test client wants none passed
                request.pop("cookies", None)
            case.validate_response(client.request(**request), checks=CHECKS, headers=headers)

    ran = fuzz_every_operation([result.ok() for result in spec.get_all_operations()], send)

    assert ran >= 10


# Inputs that once broke a search, tried on every operation with a `query` parameter, by every caller.
QUERY_CORPUS = ["-" * 33, "-" * 200, "- " * 100, "-(" * 100, "-&" * 100, "-!" * 100, "-- " * 66, "-" * 40 + "star",
                '-"' * 100, "-_" * 100, "star " + "-" * 100 + " wars"]  # fmt: skip


def test_the_query_corpus_never_breaks_a_search(client, callers):
    spec = client.get("/api/openapi.json").json()
    searches = [
        path
        for path, operations in spec["paths"].items()
        if "query" in {parameter["name"] for parameter in operations.get("get", {}).get("parameters", [])}
    ]

    assert len(searches) >= 2
    for path in searches:
        for query in QUERY_CORPUS:
            for headers in callers:
                response = client.get(path, params={"query": query}, headers=headers)
                assert response.status_code in (200, 401), (path, query, response.text)
                assert response.headers["content-type"] == "application/json"
