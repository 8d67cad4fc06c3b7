"""What movies_auth and the services that call it agree on: header names, the request-id rule, the check path and
the readiness body.

The movies API and this library import them from here. movies_auth keeps its own copy of each (its image installs
nothing from beside it); tests/test_services_agree.py holds the copies equal and checks both running services.
"""

from __future__ import annotations

import re
import uuid

SUBJECT_TOKEN_HEADER = "X-Subject-Token"  # noqa: S105 (a header name)
REQUEST_ID_HEADER = "X-Request-Id"
# An incoming id is echoed into logs and headers, so only a short, plain token is trusted; else one is made up.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")
CHECK_PATH = "/auth/api/v1/users/{user_id}/combined_permissions/validation"


def check_path(user_id: uuid.UUID) -> str:
    """Where movies_auth answers whether a user's permissions satisfy a condition."""
    return CHECK_PATH.format(user_id=user_id)


def readiness_body(ready: bool, checks: dict[str, str]) -> tuple[dict, int]:
    """A `readyz` answer: `{"status": "ok" | "unavailable", "checks": {store: state}}`, and 200 or 503."""
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
