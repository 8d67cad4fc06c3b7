"""Driving the real movies_auth as its operator and its users do: its CLI, and its HTTP API."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from movies_auth_client import AsyncAuthClient, AuthClient, BreakerState, Call, CircuitBreaker, Outcome
from testkit.ports import free_port
from testkit.processes import Process, gunicorn

PASSWORD = "correct horse battery"
ROOT_EMAIL = "root@example.com"
REPOSITORY = Path(__file__).resolve().parents[2]
# Short, so that the tests see the clients renew their service tokens on their own.
SERVICE_TOKEN_LIFETIME = 4
API = "/auth/api/v1"


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run a `flask` command of movies_auth, as its operator does."""
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def serve(env: dict[str, str], port: int, log: Path) -> Process:
    """movies_auth under gunicorn as in production, on `port` (not started)."""
    config = REPOSITORY / "movies_auth" / "gunicorn.conf.py"
    return gunicorn("movies_auth", "movies_auth.wsgi:app", config, env, port, log, "/auth/readyz", cwd=REPOSITORY)


@dataclass
class AuthServer:
    """One movies_auth: its environment, its CLI, its server process, and helpers to make users."""

    env: dict[str, str]
    log: Path
    run_flask: Callable[..., Any]
    make_process: Callable[..., Process]
    port: int = field(default_factory=free_port)
    root_token: str = ""
    account: dict[str, str] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.process = self.make_process(self.env, self.port, self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flask(self, *args: str) -> str:
        done = self.run_flask(self.env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    def prepare(self) -> None:
        """Schema, built-in roles and the superuser, as `flask` makes them."""
        self.flask("app", "init")
        self.flask("superuser", "create", "--email", ROOT_EMAIL, "--first-name", "Root", "--last-name", "User",
                   "--password", PASSWORD)  # fmt: skip
        self.account = self.service()

    def sign_in_root(self) -> None:
        self.root_token = self.login(ROOT_EMAIL)["access_token"]

    def service(self) -> dict[str, str]:
        """A fresh service account (`account` is the one most tests share): `service_name` and `service_secret`."""
        name = f"client-test-{next(self._numbers)}-{time.monotonic_ns() % 10**6}"
        return {"service_name": name, "service_secret": self.flask("services", "create", name)}

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.url}{API}{path}", json=body, headers=headers, timeout=10)

    def sign(self, claims: dict) -> str:
        """A token signed as movies_auth signs them now: with the newest key of its key ring."""
        newest = max((Path(self.env["INSTANCE_PATH"]) / "jwt-keys").glob("*.pem"))
        key = serialization.load_pem_private_key(newest.read_bytes(), password=None)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": newest.stem})

    def login(self, email: str) -> dict:
        response = self.call("POST", "/auth_token", {"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()

    def user(self, role: str | None = None) -> tuple[str, str]:
        """A fresh user, with `role` granted by the superuser: (user id, access token)."""
        email = f"user{next(self._numbers)}-{time.monotonic_ns()}@example.com"
        created = self.call("POST", "/users", {"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        user_id = created.json()["uuid"]
        if role:
            granted = self.call("POST", f"/users/{user_id}/roles", {"name": role}, token=self.root_token)
            assert granted.status_code == 201, granted.text
        return user_id, self.login(email)["access_token"]


class RecordingObserver:
    """An observer that keeps every report, as a metrics adapter would count them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Call, Outcome]] = []
        self.verifications: list[Outcome] = []
        self.breaker_states: list[BreakerState] = []

    def call_finished(self, call: Call, outcome: Outcome, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append((call, outcome))

    def token_verified(self, outcome: Outcome) -> None:
        self.verifications.append(outcome)

    def breaker_changed(self, state: BreakerState) -> None:
        self.breaker_states.append(state)

    def count(self, call: Call, outcome: Outcome | None = None) -> int:
        return sum(1 for made, ended in self.calls if made is call and (outcome is None or ended is outcome))


class AsyncDriver:
    """The async client driven from a test, on an event loop that runs all the time in its own thread, as a
    service's loop does (so the background renewal keeps time while the test waits or runs commands)."""

    def __init__(self, base_url: str, **settings: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = self._run(self._make(base_url, settings))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    @staticmethod
    async def _make(base_url: str, settings: dict[str, Any]) -> AsyncAuthClient:
        return AsyncAuthClient(base_url, **settings)

    @property
    def breaker(self) -> CircuitBreaker:
        return self.client.breaker

    def start(self) -> None:
        self._run(self.client.start())

    def close(self) -> None:
        self._run(self.client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def has_permission(self, *args: Any, **kwargs: Any) -> bool:
        return self._run(self.client.has_permission(*args, **kwargs))

    def at_once(self, count: int, *args: Any) -> list[bool]:
        """`count` `has_permission(*args)` started together on the client's loop, as concurrent requests are."""
        return self._run(self._together(count, args))

    async def _together(self, count: int, args: tuple[Any, ...]) -> list[bool]:
        return list(await asyncio.gather(*(self.client.has_permission(*args) for _ in range(count))))

    def each_at_once(self, count: int, *args: Any) -> list[tuple[float, bool | BaseException]]:
        """As `at_once`, but each caller's own outcome (an answer or what it raised) and how long it waited."""
        return self._run(self._each_together(count, args))

    async def _each_together(self, count: int, args: tuple[Any, ...]) -> list[tuple[float, bool | BaseException]]:
        async def one() -> tuple[float, bool | BaseException]:
            started = time.monotonic()
            try:
                outcome: bool | BaseException = await self.client.has_permission(*args)
            except Exception as error:
                outcome = error
            return time.monotonic() - started, outcome

        return list(await asyncio.gather(*(one() for _ in range(count))))

    def verify_token(self, token: str) -> dict:
        return self._run(self.client.verify_token(token))

    def service_token(self) -> str:
        return self._run(self.client.service_token())

    @staticmethod
    def wait(seconds: float) -> None:
        time.sleep(seconds)


class SyncDriver:
    """The sync client, with the same face as `AsyncDriver`."""

    def __init__(self, base_url: str, **settings: Any) -> None:
        self.client = AuthClient(base_url, **settings)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    @staticmethod
    def wait(seconds: float) -> None:
        time.sleep(seconds)


DRIVERS = {"sync": SyncDriver, "async": AsyncDriver}
