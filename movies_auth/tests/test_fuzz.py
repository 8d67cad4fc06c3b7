"""Property-based fuzzing of every operation in the served spec (schemathesis), with valid and invalid input:
no input is a 500, every answer is one the spec documents, in the documented content type and shape, and
every protected operation refuses a request without its token.

The caller is a superuser, so every operation is reached; logging out would end that caller's session and
is left out.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi import checks as openapi_checks

from auth_support import give
from testkit.fuzzing import fuzz_every_operation

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth]  # fmt: skip


@pytest.fixture
def root_headers(app, make_account) -> dict[str, str]:
    root = make_account("root@example.com")
    give(app, root, role="superuser")
    return root.headers


def test_every_operation_holds_to_the_spec(app, root_headers, monkeypatch):
    # The contract answers a malformed or forged token 422 (DESIGN.md, errors); the auth check counts only
    # 401 and 403 as a refusal. A token-less request must still be refused (401 here, see the access matrix).
    monkeypatch.setattr(openapi_checks, "AUTH_REJECTION_STATUSES", frozenset({401, 403, 422}))
    spec = schemathesis.openapi.from_wsgi("/auth/apispec.json", app)
    logging_out = {"path_regex": r"/auth_token(/all)?$", "method": "DELETE"}
    operations = [result.ok() for result in spec.exclude(**logging_out).get_all_operations()]

    ran = fuzz_every_operation(operations, lambda case: case.call_and_validate(headers=root_headers, checks=CHECKS))

    assert ran >= 30
