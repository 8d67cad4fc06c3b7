"""Helpers the tests share: the real movies_auth in a subprocess, a misbehaving stand-in for it, and paging."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from testkit.http import StandInHandler, call_json
from testkit.ports import free_port
from testkit.processes import gunicorn

REPOSITORY = Path(__file__).resolve().parents[2]
AUTH_GUNICORN_CONFIG = REPOSITORY / "movies_auth" / "gunicorn.conf.py"
# The real Practicum catalogue (999 films) as an SQL dump, so that every checkout can run the tests and the
# repository holds text; the tests rebuild the SQLite file the loader reads.
PRACTICUM_DUMP = Path(__file__).resolve().parent / "data" / "practicum_movies.sql"
PASSWORD = "correct horse battery"
ROOT_EMAIL = "root@example.com"
SERVICE_NAME = "movies-api"
FILMS = "/api/v1/films"
# For tests of what a call to movies_auth carries, not of its timeouts: a loaded machine must not make it degraded.
PATIENT = {"auth_connect_timeout": 5, "auth_read_timeout": 5}
# Short, so that the tests see the movies API renew its service token on its own, many times over.
SERVICE_TOKEN_LIFETIME = 6
STUB_SERVICE_SECRET = "any-secret-the-stub-auth-service-accepts"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def every_page(client: TestClient, path: str, headers: dict | None = None, **params) -> list[dict]:
    """All items of a paged listing, walking pages of 100 until an empty one."""
    items, page = [], 1
    while True:
        response = client.get(path, params={**params, "page_size": 100, "page_number": page}, headers=headers)
        assert response.status_code == 200, response.text
        if not response.json():
            return items
        items += response.json()
        page += 1


def movies_api(database_url: str, *args: str, redis_url: str | None = None) -> subprocess.CompletedProcess:
    """Run the `movies-api` command against a database (and the embedded Redis unless given), as an operator would."""
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [str(Path(sys.executable).with_name("movies-api")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@dataclass
class AuthService:
    """movies_auth, running under gunicorn as in production, driven over HTTP and its CLI."""

    url: str
    env: dict[str, str]
    log: Path
    root_token: str = ""
    service_secret: str = ""
    _emails: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        return call_json(f"{self.url}/auth/api/v1{path}", method, body, token)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def sign(self, claims: dict) -> str:
        """A token signed as movies_auth signs them now: with the newest key of its key ring."""
        newest = max((Path(self.env["INSTANCE_PATH"]) / "jwt-keys").glob("*.pem"))
        key = serialization.load_pem_private_key(newest.read_bytes(), password=None)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": newest.stem})

    def login(self, email: str, password: str = PASSWORD) -> dict:
        status, tokens = self.call("POST", "/auth_token", {"email": email, "password": password})
        assert status == 200, tokens
        return tokens

    def new_user(self, *, role: str | None = None) -> tuple[str, dict]:
        """Register a fresh user, optionally grant a role (as the superuser), log in: (user id, tokens)."""
        email = f"viewer{next(self._emails)}-{time.monotonic_ns()}@example.com"
        status, user = self.call("POST", "/users", {"email": email, "password": PASSWORD})
        assert status == 201, user
        if role:
            status, body = self.call("POST", f"/users/{user['uuid']}/roles", {"name": role}, token=self.root_token)
            assert status == 201, body
        return user["uuid"], self.login(email)


@contextmanager
def running_auth_service(env: dict[str, str]) -> Iterator[AuthService]:
    """Migrate and seed movies_auth, create its superuser, then serve it with gunicorn until the block ends."""
    port = free_port()
    log = Path(env["INSTANCE_PATH"]) / "gunicorn.log"
    service = AuthService(f"http://127.0.0.1:{port}", env, log)
    for command in (["app", "init"], ["superuser", "create", "--email", ROOT_EMAIL, "--first-name", "Root",
                                      "--last-name", "User", "--password", PASSWORD]):  # fmt: skip
        done = service.flask(*command)
        assert done.returncode == 0, done.stderr
    created = service.flask("services", "create", SERVICE_NAME)
    assert created.returncode == 0, created.stderr
    service.service_secret = created.stdout.strip()
    with gunicorn("movies_auth", "movies_auth.wsgi:app", AUTH_GUNICORN_CONFIG, env, port, log, "/auth/healthz",
                  cwd=REPOSITORY):  # fmt: skip
        service.root_token = service.login(ROOT_EMAIL)["access_token"]
        yield service


class StubAuth:
    """A stand-in for movies_auth that misbehaves on demand: answers 500 or garbage, hangs, or answers well.

    It hands out service tokens (after `service_token_delay` seconds), serves `jwks` (empty unless a test sets
    it), and counts permission checks and key fetches.
    """

    SUBJECT = "X-Subject-Token"

    def __init__(self) -> None:
        self.behaviour = "pro"
        self.calls = 0
        self.request_ids: list[str] = []
        self.bearers: list[str] = []
        self.subjects: list[str] = []
        self.service_tokens_issued = 0
        self.service_token_lifetime = 600
        self.refused_service_tokens: set[str] = set()
        self.jwks: dict = {"keys": []}
        self.jwks_fetches = 0
        self.service_token_delay = 0.0
        self.release = threading.Event()
        stub = self

        class Handler(StandInHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/jwks.json"):
                    stub.jwks_fetches += 1
                    self._send(200, json.dumps(stub.jwks))
                    return
                stub.calls += 1
                stub.request_ids.append(self.headers.get("X-Request-Id", ""))
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                stub.bearers.append(bearer)
                stub.subjects.append(self.headers.get(stub.SUBJECT, ""))
                if bearer in stub.refused_service_tokens:
                    self._send(401, '{"msg": "Token has been revoked"}')
                    return
                status, body = stub.answer()
                if status is None:
                    stub.release.wait(10)
                    return
                self._send(status, body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(stub.service_token_delay)
                stub.service_tokens_issued += 1
                token = f"service-token-{stub.service_tokens_issued}"
                self._send(200, json.dumps({"access_token": token, "token_type": "Bearer",
                                            "expires_in": stub.service_token_lifetime}))  # fmt: skip

            def _send(self, status: int, body: str) -> None:
                self.reply(status, body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self) -> tuple[int | None, str]:
        revoked = {"msg": "Token has been revoked", "errors": {self.SUBJECT: ["Token has been revoked"]}}
        return {
            "pro": (200, '{"valid": true}'),
            "public": (200, '{"valid": false}'),
            "error": (500, '{"msg": "Internal server error"}'),
            "garbage": (200, "<html>not json</html>"),
            "wrong shape": (200, '{"valid": "yes"}'),
            "revoked": (401, json.dumps(revoked)),
            "forbidden": (403, '{"msg": "You may only access your own account"}'),
            "header too large": (431, "<html>Request Header Fields Too Large</html>"),
            "hang": (None, ""),
        }[self.behaviour]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def unsigned_token(subject: str = "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", lifetime: float = 900) -> str:
    """A JWT-shaped token the stub accepts; its signature is never checked here, only by movies_auth."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": subject, "exp": time.time() + lifetime, "type": "access", "jti": os.urandom(8).hex()}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
