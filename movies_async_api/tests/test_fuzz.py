"""Property-based fuzzing of every operation in the served OpenAPI spec (schemathesis), with valid and invalid
input, as an anonymous caller, a subscriber and a bearer of garbage: no input is a 500, and every answer is
one the spec documents, in the documented content type and shape.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized (a fixed seed).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from support import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def callers(auth_service) -> dict[str, dict]:
    return {
        "anonymous": {},
        "subscriber": bearer(auth_service.new_user(role="subscriber")[1]["access_token"]),
        "garbage token": bearer("not-a-token"),
    }


def test_every_operation_holds_to_the_spec(client, callers):
    spec = schemathesis.openapi.from_dict(client.get("/api/openapi.json").json())
    operations = [result.ok() for result in spec.get_all_operations()]
    failures = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @BOUNDED
            @given(case=operation.as_strategy(generation_mode=mode))
            def holds(case):
                for headers in callers.values():
                    request = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
                    if not request.get("cookies"):  # none in this spec; the test client wants none passed
                        request.pop("cookies", None)
                    response = client.request(**request)
                    case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                holds()
            except Unsatisfiable:  # no parameter to make invalid: nothing to try in this mode
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # every operation is tried; all are reported
                failures[f"{operation.label} ({mode.value})"] = failure
    assert len(operations) >= 10
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
