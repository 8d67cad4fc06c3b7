"""The production shape end to end, through nginx only: TLS, routing, request ids across all three logs,
who sees which films, the API docs, JSON errors of nginx's own, and what an outage of movies_auth looks like.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from deployment import ROOT_EMAIL, ROOT_PASSWORD, Platform

API = "/auth/api/v1"
PASSWORD = "correct horse battery"
ALL_FILMS, PUBLIC_FILMS = 999, 562  # the Practicum catalogue; 437 films are rated above 7.0


@pytest.fixture(scope="module")
def web(platform: Platform):
    with platform.client() as client:
        yield client


def register_and_login(web: httpx.Client) -> tuple[str, str]:
    email = f"viewer-{uuid.uuid4().hex[:12]}@example.com"
    created = web.post(f"{API}/users", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = web.post(f"{API}/auth_token", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return created.json()["uuid"], login.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def every_film(web: httpx.Client, headers: dict | None = None) -> list[dict]:
    films, page = [], 1
    while True:
        response = web.get("/api/v1/films", params={"page_size": 100, "page_number": page}, headers=headers)
        assert response.status_code == 200, response.text
        if not response.json():
            return films
        films += response.json()
        page += 1


@pytest.fixture(scope="module")
def root_token(web: httpx.Client) -> str:
    login = web.post(f"{API}/auth_token", json={"email": ROOT_EMAIL, "password": ROOT_PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


def test_plain_http_is_redirected_to_https_keeping_path_and_method(platform: Platform):
    response = httpx.post(f"{platform.http_url}/auth/api/v1/auth_token?x=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["Location"] == f"{platform.url}/auth/api/v1/auth_token?x=1"


def test_https_carries_hsts_and_routes_each_prefix_to_its_service(web):
    auth, movies = web.get("/auth/healthz"), web.get("/api/healthz")
    assert auth.json() == {"status": "ok"} and movies.json() == {"status": "ok"}
    assert auth.headers["Strict-Transport-Security"].startswith("max-age=")
    assert web.get("/auth/readyz").status_code == 200
    assert web.get("/api/readyz").status_code == 200


def test_a_visitor_registers_logs_in_and_sees_only_public_films(web):
    _, token = register_and_login(web)
    assert len(every_film(web)) == PUBLIC_FILMS
    films = every_film(web, bearer(token))
    assert len(films) == PUBLIC_FILMS
    assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in films)


def test_a_subscriber_sees_every_film(web, root_token):
    user_id, token = register_and_login(web)
    granted = web.post(f"{API}/users/{user_id}/roles", json={"name": "subscriber"}, headers=bearer(root_token))
    assert granted.status_code == 201, granted.text
    assert len(every_film(web, bearer(token))) == ALL_FILMS


def test_one_request_id_runs_through_nginx_auth_and_the_movies_api(platform, web):
    _, token = register_and_login(web)  # a fresh token: the movies API has no cached answer for it
    response = web.get("/api/v1/films", params={"page_size": 3}, headers=bearer(token))
    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]  # made by nginx: the client sent none
    assert len(request_id) == 32
    assert json.loads(platform.nginx.line_with(request_id))["path"] == "/api/v1/films"
    platform.auth.line_with(f"[{request_id}]")  # movies_auth answered the movies API's permission check
    platform.movies.line_with(request_id)


def test_a_client_request_id_is_kept_and_an_unsafe_one_replaced(web):
    assert web.get("/api/healthz", headers={"X-Request-Id": "trace-42"}).headers["X-Request-Id"] == "trace-42"
    replaced = web.get("/auth/healthz", headers={"X-Request-Id": "bad id\twith spaces"}).headers["X-Request-Id"]
    assert replaced != "bad id\twith spaces" and len(replaced) == 32


def test_a_forged_forwarded_for_does_not_reach_login_history(web):
    email = f"spoof-{uuid.uuid4().hex[:12]}@example.com"
    user = web.post(f"{API}/users", json={"email": email, "password": PASSWORD}).json()
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    token = web.post(f"{API}/auth_token", json={"email": email, "password": PASSWORD}, headers=spoofed)
    history = web.get(f"{API}/users/{user['uuid']}/logins", headers=bearer(token.json()["access_token"]))
    assert [entry["ip_address"] for entry in history.json()["items"]] == ["127.0.0.1"]


def test_large_json_answers_are_gzipped(web):
    response = web.get("/api/v1/films", params={"page_size": 100}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.json()) == 100
    assert response.num_bytes_downloaded < len(response.content) / 2


def test_both_api_docs_are_served_through_nginx(web):
    docs = web.get("/auth/apidocs/")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    spec = web.get("/auth/apispec.json").json()
    assert f"{API}/auth_token" in spec["paths"]
    movies_docs = web.get("/api/openapi")
    assert movies_docs.status_code == 200 and "swagger-ui" in movies_docs.text
    assert "/api/v1/films" in web.get("/api/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("path", "field"), [("/auth/api/v1/users", "msg"), ("/api/v1/films", "detail"), ("/elsewhere", "msg")]
)
def test_a_body_over_the_limit_is_a_json_413_before_any_service_sees_it(web, path, field):
    response = web.post(
        path, content=b"{" + b" " * (1024 * 1024 + 1) + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {field: "Request body too large"}
    assert response.headers["X-Request-Id"]


def test_an_unknown_path_is_a_json_404(web):
    response = web.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"msg": "Not found"}


def request_line_of(length: int, path: str) -> str:
    """A path (under `path`) whose request line, `GET <path> HTTP/1.1`, is `length` bytes long."""
    return path + "x" * (length - len(f"GET {path} HTTP/1.1"))


@pytest.mark.parametrize("length", [4095, 6000, 8190])
@pytest.mark.parametrize(("prefix", "field"), [("/auth/", "msg"), ("/api/", "detail")])
def test_a_long_request_line_nginx_passes_on_is_answered_by_the_service_in_json(web, length, prefix, field):
    # gunicorn refused lines over 4094 bytes with an HTML 414 and no request id; nginx passes up to 8190.
    response = web.get(request_line_of(length, prefix))

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert field in response.json()
    assert response.headers["X-Request-Id"]


@pytest.mark.parametrize("length", [8191, 20_000])
def test_a_request_line_too_long_for_nginx_is_its_json_414(web, length):
    response = web.get(request_line_of(length, "/auth/"))

    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    # nginx could not read the line, so not its path either: the answer takes movies_auth's shape.
    assert response.json() == {"msg": "Request URI too long"}
    assert response.headers["X-Request-Id"]


def test_with_movies_auth_stopped_the_api_degrades_and_auth_paths_are_a_json_502(platform, web, root_token):
    user_id, token = register_and_login(web)  # not shown to the movies API yet, so it has no cached answer
    web.post(f"{API}/users/{user_id}/roles", json={"name": "subscriber"}, headers=bearer(root_token))

    platform.auth.stop()
    try:
        response = web.get("/api/v1/films", params={"page_size": 100, "sort": "-imdb_rating"}, headers=bearer(token))
        assert response.status_code == 200
        assert response.headers["X-Auth-Degraded"] == "1"
        assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in response.json())

        down = web.post(f"{API}/auth_token", json={"email": ROOT_EMAIL, "password": ROOT_PASSWORD})
        assert down.status_code == 502
        assert down.headers["Content-Type"] == "application/json"
        assert down.json() == {"msg": "The service is unavailable; try again shortly"}
        assert down.headers["X-Request-Id"]
    finally:
        platform.auth.start()

    # A restart loses no session: the subscriber's token is still valid and, once the movies API's breaker lets
    # its probe through (after its cool-down), opens every film again.
    restored = web.get(f"{API}/auth_token/validation", headers=bearer(token))
    assert restored.status_code == 200, restored.text
    deadline = time.monotonic() + 30
    while web.get("/api/v1/films", headers=bearer(token)).headers.get("X-Auth-Degraded"):
        assert time.monotonic() < deadline, "the movies API did not recover from the outage"
        time.sleep(0.5)
    assert len(every_film(web, bearer(token))) == ALL_FILMS
