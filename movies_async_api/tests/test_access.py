"""Who sees what, against the real movies_auth: anonymous and plain users see films rated 7.0 or lower,
`pro_read` and `all_all` see every film, and a bad token is 401 whatever it asks for.
"""

from __future__ import annotations

import time

import jwt
import pytest

from support import FILMS, bearer, every_page

PUBLIC_FILMS, ALL_FILMS = 999 - 437, 999
EPISODE_V = "Star Wars: Episode V - The Empire Strikes Back"


@pytest.fixture(scope="module")
def subscriber(auth_service) -> dict:
    return bearer(auth_service.new_user(role="subscriber")[1]["access_token"])


@pytest.fixture(scope="module")
def superuser(auth_service) -> dict:
    return bearer(auth_service.root_token)


@pytest.fixture(scope="module")
def plain_user(auth_service) -> dict:
    return bearer(auth_service.new_user()[1]["access_token"])


def film_id(client, title: str, headers: dict) -> str:
    found = client.get(f"{FILMS}/search", params={"query": f'"{title}"'}, headers=headers).json()
    return next(film["uuid"] for film in found if film["title"] == title)


def test_anonymous_callers_see_only_films_rated_7_or_lower(client):
    films = every_page(client, FILMS)
    assert len(films) == PUBLIC_FILMS
    assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in films)
    assert any(film["imdb_rating"] is None for film in films)
    assert any(film["imdb_rating"] == 7.0 for film in films)


def test_a_user_without_pro_read_sees_what_anonymous_callers_see(client, plain_user):
    assert len(every_page(client, FILMS, headers=plain_user)) == PUBLIC_FILMS


@pytest.mark.parametrize("who", ["subscriber", "superuser"])
def test_pro_read_and_all_all_see_every_film(client, who, request):
    films = every_page(client, FILMS, headers=request.getfixturevalue(who))
    assert len(films) == ALL_FILMS
    assert len({film["uuid"] for film in films}) == ALL_FILMS
    assert sum(1 for film in films if (film["imdb_rating"] or 0) > 7.0) == 437


def test_search_leaves_out_what_the_caller_may_not_see(client, subscriber, plain_user):
    query = {"query": "empire strikes back"}
    assert client.get(f"{FILMS}/search", params=query, headers=subscriber).json()[0]["title"] == EPISODE_V
    for headers in ({}, plain_user):
        found = client.get(f"{FILMS}/search", params=query, headers=headers).json()
        assert EPISODE_V not in [film["title"] for film in found]
        assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in found)


def test_the_detail_of_a_film_rated_above_7_is_403_without_pro_read(client, subscriber, superuser, plain_user):
    episode_v = film_id(client, EPISODE_V, subscriber)
    for headers in ({}, plain_user):
        refused = client.get(f"{FILMS}/{episode_v}", headers=headers)
        assert refused.status_code == 403
        assert "pro_read" in refused.json()["detail"]
    for headers in (subscriber, superuser):
        film = client.get(f"{FILMS}/{episode_v}", headers=headers)
        assert film.status_code == 200
        assert film.json()["imdb_rating"] == 8.7


def test_persons_show_only_the_films_the_caller_may_see(client, subscriber):
    person = client.get("/api/v1/persons/search", params={"query": "George Lucas"}, headers=subscriber).json()[0]
    assert person["full_name"] == "George Lucas"
    everything = client.get(f"/api/v1/persons/{person['uuid']}/film", headers=subscriber).json()
    public = client.get(f"/api/v1/persons/{person['uuid']}/film").json()
    assert {film["uuid"] for film in public} < {film["uuid"] for film in everything}
    assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in public)
    detail = client.get(f"/api/v1/persons/{person['uuid']}").json()
    assert {film["uuid"] for film in detail["films"]} == {film["uuid"] for film in public}


def test_cached_answers_never_cross_access_levels(client, subscriber):
    for first, second in ((subscriber, {}), ({}, subscriber)):
        client.portal.call(client.app.state.cache.redis.flushdb)
        for path in (FILMS, f"{FILMS}/search?query=star+wars", f"{FILMS}/search?query=empire+strikes+back"):
            warm = client.get(path, headers=first).json()
            assert client.get(path, headers=first).json() == warm  # now served from the cache
            other = client.get(path, headers=second).json()
            anonymous_view, pro_view = (other, warm) if first else (warm, other)
            assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in anonymous_view)
            assert any((film["imdb_rating"] or 0) > 7.0 for film in pro_view)


def test_a_cached_detail_is_never_shown_to_an_anonymous_caller(client, subscriber):
    episode_v = film_id(client, EPISODE_V, subscriber)
    assert client.get(f"{FILMS}/{episode_v}", headers=subscriber).status_code == 200
    assert client.get(f"{FILMS}/{episode_v}").status_code == 403


def test_a_grant_is_honoured_once_the_token_answer_expires(client, auth_service):
    user_id, tokens = auth_service.new_user()
    headers = bearer(tokens["access_token"])
    assert len(every_page(client, FILMS, headers=headers)) == PUBLIC_FILMS
    status, _ = auth_service.call("POST", f"/users/{user_id}/roles", {"name": "subscriber"}, auth_service.root_token)
    assert status == 201
    assert len(every_page(client, FILMS, headers=headers)) == ALL_FILMS


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("not-a-token", "Invalid token"),
        ("a.b.c", "Invalid token"),
        ("x" * 9000, "Invalid token"),
    ],
)
def test_a_malformed_token_is_401(client, token, detail):
    for path in (FILMS, f"{FILMS}/search?query=star", "/api/v1/persons/search?query=lucas", "/api/v1/genres"):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_forged_signature_is_401(client, auth_service):
    _, tokens = auth_service.new_user(role="subscriber")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-of-a-decent-length-0123456789", algorithm="HS256")
    response = client.get(FILMS, headers=bearer(forged))
    assert response.status_code == 401
    assert response.json() == {"detail": "Signature verification failed"}


def test_an_expired_token_is_401(client, auth_service):
    _, tokens = auth_service.new_user(role="subscriber")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    expired = auth_service.sign({**claims, "exp": int(time.time()) - 60})
    response = client.get(FILMS, headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired"}


def test_a_revoked_token_is_401(client, auth_service):
    _, tokens = auth_service.new_user(role="subscriber")
    headers = bearer(tokens["access_token"])
    assert client.get(FILMS, headers=headers).status_code == 200
    status, _ = auth_service.call("DELETE", "/auth_token", token=tokens["access_token"])
    assert status == 204
    response = client.get(FILMS, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has been revoked"}


def test_a_refresh_token_is_not_an_access_token(client, auth_service):
    _, tokens = auth_service.new_user(role="subscriber")
    response = client.get(FILMS, headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 401


def test_a_non_bearer_authorization_header_is_401(client):
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer "):
        response = client.get(FILMS, headers={"Authorization": header})
        assert response.status_code == 401


def test_the_request_id_reaches_the_auth_service(client, auth_service, subscriber):
    request_id = f"trace-{time.monotonic_ns()}"
    response = client.get(FILMS, headers={**subscriber, "X-Request-Id": request_id})
    assert response.headers["X-Request-Id"] == request_id
    assert "X-Auth-Degraded" not in response.headers
    deadline = time.monotonic() + 5
    while request_id not in auth_service.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"[{request_id}]" in auth_service.log.read_text()
