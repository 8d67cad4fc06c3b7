"""The Flask decorator and the FastAPI dependency, in small apps as an integrating service writes them (the
README's code), in front of the real movies_auth."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from flask import Flask, g

from movies_auth_client import AsyncAuthClient, AuthClient
from movies_auth_client.fastapi import requires as fastapi_requires
from movies_auth_client.flask import init_app
from movies_auth_client.flask import requires as flask_requires
from movies_auth_client.principal import Principal
from testkit.ports import free_port


def flask_app(client: AuthClient) -> Flask:
    app = Flask("billing")
    init_app(app, client)

    @app.get("/invoices")
    @flask_requires("pro_read")
    def invoices() -> dict:
        return {"user": str(g.principal.user_id)}

    return app


def fastapi_app(base_url: str, account: dict[str, str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with AsyncAuthClient(base_url, **account) as auth:
            app.state.auth_client = auth
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/invoices")
    async def invoices(principal: Annotated[Principal, Depends(fastapi_requires("pro_read"))]) -> dict:
        return {"user": str(principal.user_id)}

    return app


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict
    headers: Mapping[str, str]

    @property
    def message(self) -> str:
        """The refusal's message: Flask's `msg`, FastAPI's `detail`."""
        return self.body.get("msg") or self.body.get("detail")


class Answers:
    """One face for both test clients: `GET /invoices` with a token and headers, as a `Reply`."""

    def __init__(self, get, json_of) -> None:
        self._get = get
        self._json_of = json_of

    def __call__(self, token: str | None = None, **headers: str) -> Reply:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self._get("/invoices", headers=headers)
        return Reply(response.status_code, self._json_of(response), response.headers)


@pytest.fixture(params=["flask", "fastapi"])
def service(request: pytest.FixtureRequest, auth) -> Iterator[Answers]:
    yield from _service(request.param, auth.url, auth.account)


@pytest.fixture(params=["flask", "fastapi"])
def service_without_auth(request: pytest.FixtureRequest, auth) -> Iterator[Answers]:
    yield from _service(request.param, f"http://127.0.0.1:{free_port()}", auth.account)


def _service(kind: str, base_url: str, account: dict[str, str]) -> Iterator[Answers]:
    if kind == "flask":
        with AuthClient(base_url, **account) as client:
            yield Answers(flask_app(client).test_client().get, lambda response: response.json)
    else:
        with TestClient(fastapi_app(base_url, account)) as client:
            yield Answers(client.get, lambda response: response.json())


def test_a_subscriber_gets_in_as_themselves(service, auth):
    user_id, token = auth.user(role="subscriber")

    response = service(token)

    assert response.status_code == 200
    assert response.body == {"user": user_id}


def test_a_user_without_the_permission_is_forbidden(service, auth):
    response = service(auth.user()[1])

    assert response.status_code == 403
    assert response.message == "You do not have the permission for this"


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "Missing Authorization Header"), ("not.a.token", "Invalid token")],
    ids=["no token", "garbled"],
)
def test_no_or_a_bad_token_is_a_401_with_a_bearer_challenge(service, token, message):
    response = service(token)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.message == message


def test_a_revoked_token_is_a_401(service, auth):
    _, token = auth.user(role="subscriber")
    assert auth.call("DELETE", "/auth_token", token=token).status_code == 204

    response = service(token)

    assert response.status_code == 401
    assert response.message == "Token has been revoked"


def test_the_request_id_goes_on_to_movies_auth(service, auth):
    _, token = auth.user(role="subscriber")

    assert service(token, **{"X-Request-Id": "billing-trace-42"}).status_code == 200

    assert any("[billing-trace-42]" in line for line in auth.log.read_text().splitlines())


def test_movies_auth_unreachable_is_a_503_to_try_again(service_without_auth, auth):
    response = service_without_auth(auth.user(role="subscriber")[1])

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.message == "The auth service is unavailable, try again shortly"


def test_the_flask_decorator_serves_threads_at_once(auth):
    """A threaded Flask server shares one sync client: concurrent checks, one service token."""
    _, subscriber = auth.user(role="subscriber")
    _, viewer = auth.user()
    with AuthClient(auth.url, **auth.account, answer_ttl=0) as client:
        app = flask_app(client)
        results: list[int] = []

        def ask(token: str) -> None:
            results.append(app.test_client().get("/invoices", headers={"Authorization": f"Bearer {token}"}).status_code)

        threads = [threading.Thread(target=ask, args=(token,)) for token in [subscriber, viewer] * 8]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(results) == [200] * 8 + [403] * 8


def test_the_fastapi_dependency_serves_tasks_at_once(auth):
    _, subscriber = auth.user(role="subscriber")
    _, viewer = auth.user()

    async def scenario() -> list[bool]:
        async with AsyncAuthClient(auth.url, **auth.account, answer_ttl=0) as client:
            checks = [client.has_permission(token, "pro_read") for token in [subscriber, viewer] * 8]
            return await asyncio.gather(*checks)

    assert sorted(asyncio.run(scenario())) == [False] * 8 + [True] * 8
