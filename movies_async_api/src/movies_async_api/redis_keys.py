"""Every Redis key the service writes, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

RESPONSE_PREFIX = "movies:response:"


def response(access: str, path: str, params: Mapping[str, object]) -> str:
    """A cached answer: per access level first, so levels never share one; then the path and its parameters."""
    query = urlencode(sorted((name, "" if value is None else str(value)) for name, value in params.items()))
    return f"{RESPONSE_PREFIX}{access}:{path}?{query}"


# Published after a catalogue load has cleared the response cache; every worker then clears its own copy.
CATALOGUE_CHANGED = "movies:catalogue-changed"
