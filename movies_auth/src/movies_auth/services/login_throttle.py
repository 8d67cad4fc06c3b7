"""The per-account limit on failed logins, exact under concurrency.

A slot is taken before the password is checked and given back when the login succeeds. Counting
failures only after the fact (Flask-Limiter's `deduct_when`) let every attempt already past the check
through: 29 of 100 parallel wrong passwords were tried against a limit of 10.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from flask import current_app
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from movies_auth import audit, redis_keys
from movies_auth.extensions import current_settings, limiter
from movies_auth.models import normalize_email
from movies_auth.request_context import client_ip

SCOPE = "login-account"


def reserve(email: str) -> Callable[[], None]:
    """Take one failed-login slot of the account (429 when none is left); call the result when the login succeeds."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return lambda: None
    strategy = limiter.limiter
    identifiers = (redis_keys.RATE_LIMIT_PREFIX, SCOPE, _account_key(email))
    taken = []
    for item in parse_many(current_settings().login_rate_limit_per_account):
        if not strategy.hit(item, *identifiers):
            for held in (*taken, item):
                strategy.hit(held, *identifiers, cost=-1)
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
            audit.record("login_locked_out", warning=True, limit=item, account=identifiers[-1][:16], ip=client_ip())
            raise TooManyRequests(str(item), retry_after=max(1, math.ceil(reset_at - time.time())))
        taken.append(item)

    def give_back() -> None:
        for item in taken:
            strategy.hit(item, *identifiers, cost=-1)

    return give_back


def _account_key(email: str) -> str:
    # A digest: any input makes a valid key, and no email is spelled out in Redis.
    return hashlib.sha256(normalize_email(email).encode("utf-8", "surrogatepass")).hexdigest()
