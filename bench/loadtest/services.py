"""The benchmarked services: gunicorn as production runs it, their settings, and the accounts the rows use."""

from __future__ import annotations

import base64
import json
import statistics
import time
from pathlib import Path

import httpx
from movies_auth.domain.passwords import Passwords
from movies_auth.settings import Settings

from loadtest.common import PASSWORD, REPO, ROOT_EMAIL, SETUP_TIMEOUT, SUBSCRIBER_WAIT, VIEWER_EMAIL
from testkit.ports import free_port
from testkit.processes import gunicorn as served


def gunicorn(name: str, config: Path, app: str, env: dict[str, str], health: str, scratch: Path, *options: str):
    """`app` under gunicorn with the config file production uses, on a free loopback port; (process, base URL)."""
    port = free_port()
    process = served(name, app, config, env, port, scratch / f"{name}.log", health, cwd=REPO, options=options)
    return process, f"http://127.0.0.1:{port}"


def auth_settings(env: dict[str, str]) -> Settings:
    """movies_auth's settings as the benchmarked server reads them from `env`."""
    fields = {name.lower(): value for name, value in env.items() if name.lower() in Settings.model_fields}
    return Settings(_env_file=None, **fields)


def argon2_hash_ms(settings: Settings) -> float:
    """The median time of one argon2id hash at the parameters movies_auth is configured with."""
    passwords = Passwords(settings)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        passwords.hash(PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def subscriber_and_superuser(api: str) -> tuple[dict, dict]:
    """Register the viewer, log both the viewer and the superuser in, and make the viewer a subscriber."""
    httpx.post(f"{api}/users", json={"email": VIEWER_EMAIL, "password": PASSWORD}, timeout=SETUP_TIMEOUT
               ).raise_for_status()  # fmt: skip
    viewer, root = log_in(api, VIEWER_EMAIL), log_in(api, ROOT_EMAIL)
    httpx.post(f"{api}/users/{viewer['uuid']}/roles", json={"name": "subscriber"}, headers=root["headers"],
               timeout=SETUP_TIMEOUT).raise_for_status()  # fmt: skip
    return viewer, root


def log_in(api: str, email: str) -> dict:
    response = httpx.post(f"{api}/auth_token", json={"email": email, "password": PASSWORD}, timeout=SETUP_TIMEOUT)
    response.raise_for_status()
    token = response.json()["access_token"]
    return {"uuid": _subject(token), "headers": {"Authorization": f"Bearer {token}"}}


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def served_as_subscriber(url: str, headers: dict, within: float = SUBSCRIBER_WAIT) -> bool:
    """Whether the movies API answers the viewer as a subscriber, not degraded, within `within` seconds.

    A movies API that has no service token yet (movies_auth slow to answer on a loaded machine) serves every
    subscriber as anonymous: a row measured then measures the degraded path, and says so.
    """
    deadline = time.monotonic() + within
    while True:
        if "X-Auth-Degraded" not in httpx.get(url, headers=headers, timeout=SETUP_TIMEOUT).headers:
            return True
        if time.monotonic() >= deadline:
            print(f"  the movies API still answers the subscriber degraded after {within:.0f} s", flush=True)
            return False
        time.sleep(1)
