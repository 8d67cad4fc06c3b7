"""The audit trail: one structured line per security event, on the logger `movies_auth.audit`.

A line is logfmt, `event=login_failed actor=anonymous user_id=... ip=...`, and like every log line it
carries the request id. The actor is whoever made the change: `user:<uuid>` or `service:<name>` for the
bearer of the request's token, `anonymous` for a request without one, `cli` for the admin commands.
Events name ids, names and addresses only, never a password, a secret or a token.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import has_request_context
from flask_jwt_extended import get_jwt

log = logging.getLogger("movies_auth.audit")

_PLAIN = re.compile(r"[A-Za-z0-9_.:@/+-]+")


def record(event: str, *, warning: bool = False, **fields: Any) -> None:
    """Write one audit line for `event` with these fields (ids and names; never a secret)."""
    pairs = {"event": event, "actor": _actor(), **fields}
    log.log(logging.WARNING if warning else logging.INFO, " ".join(f"{k}={_value(v)}" for k, v in pairs.items()))


def _actor() -> str:
    if not has_request_context():
        return "cli"
    try:
        claims = get_jwt()
    except RuntimeError:  # no token was verified for this request
        return "anonymous"
    if not claims:  # an optional token that was not sent
        return "anonymous"
    if "service_name" in claims:
        return f"service:{claims['service_name']}"
    return f"user:{claims['sub']}"


def _value(value: Any) -> str:
    text = "-" if value is None else str(value)
    # Quoted (JSON-escaped) when it could be read as more than one field: user-chosen names may hold spaces.
    return text if _PLAIN.fullmatch(text) else json.dumps(text)
