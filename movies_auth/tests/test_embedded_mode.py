"""The embedded defaults end to end: a real server on SQLite and in-memory Redis, the CLI as another process.

This is what `make run` gives an operator, so what they do from the CLI must reach the running server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from auth_support import PASSWORD
from movies_auth.cli.common import PRIVATE_REDIS_NOTE
from movies_auth.stores.embedded_redis import ADDRESS_FILE
from testkit.http import call_json
from testkit.ports import free_port
from testkit.processes import gunicorn

GUNICORN_CONFIG = Path(__file__).parents[1] / "gunicorn.conf.py"


@dataclass
class Server:
    url: str
    env: dict[str, str]
    instance: Path

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        return call_json(f"{self.url}/auth/api/v1{path}", method, body, token)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args],
            env=self.env,
            cwd=self.instance,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(tmp_path),
        "ARGON2_TIME_COST": "2",
        "ARGON2_MEMORY_COST": "19456",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    running = Server(f"http://127.0.0.1:{port}", env, tmp_path)
    assert running.flask("app", "init").returncode == 0
    process = gunicorn("movies_auth", "movies_auth.wsgi:app", GUNICORN_CONFIG, env, port, tmp_path / "gunicorn.log",
                      "/auth/healthz", cwd=tmp_path)  # fmt: skip
    with process:
        deadline = time.monotonic() + 30
        while not (tmp_path / ADDRESS_FILE).exists():
            assert time.monotonic() < deadline, "the embedded Redis did not publish its address"
            time.sleep(0.1)
        yield running


def test_cli_grants_and_revocations_reach_the_running_server(server):
    status, user = server.call("POST", "/users", {"email": "ada@example.com", "password": PASSWORD})
    assert status == 201
    _, tokens = server.call("POST", "/auth_token", {"email": "ada@example.com", "password": PASSWORD})
    access = tokens["access_token"]
    check = f"/users/{user['uuid']}/combined_permissions/validation?permissions={quote('pro_read')}"
    assert server.call("GET", check, token=access) == (200, {"valid": False})  # now cached by the server

    granted = server.flask("users", "grant-role", "ada@example.com", "subscriber")

    assert granted.returncode == 0, granted.stderr
    assert PRIVATE_REDIS_NOTE not in granted.stderr
    assert server.call("GET", check, token=access) == (200, {"valid": True})

    logged_out = server.flask("users", "logout", "ada@example.com", "--yes")

    assert logged_out.returncode == 0, logged_out.stderr
    assert server.call("GET", "/auth_token/validation", token=access) == (401, {"msg": "Token has been revoked"})


def test_without_a_running_server_the_cli_says_its_redis_changes_do_not_last(server):
    (server.instance / ADDRESS_FILE).write_text("127.0.0.1:1\n")  # as a server that has gone leaves it
    server.call("POST", "/users", {"email": "ada@example.com", "password": PASSWORD})

    result = server.flask("users", "grant-role", "ada@example.com", "subscriber")

    assert result.returncode == 0, result.stderr
    assert "ada@example.com now has role subscriber." in result.stdout
    assert PRIVATE_REDIS_NOTE in result.stderr
