"""Who sees what, against the real movies_auth: anonymous and plain users see films rated 7.0 or lower,
`pro_read` and `all_all` see every film, and a bad token is 401 whatever it asks for.
"""

from __future__ import annotations

import time

import jwt
import pytest

from movies_support import FILMS, bearer, every_page

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
        client.portal.call(client.app.state.cache.clear)  # not FLUSHDB: on a cluster, auth shares the keyspace
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


ODD_IDS = ("0", "-1", "9" * 40, "x" * 5000, "not-a-uuid", "%00", "1e9")


@pytest.fixture(scope="module")
def route_paths(client, subscriber) -> dict[str, str]:
    """A concrete path for every API route: a real id for each parameter, the detail of a film anyone may see."""
    public_film = client.get(FILMS, params={"sort": "imdb_rating"}).json()[0]["uuid"]
    genre = client.get("/api/v1/genres").json()[0]["uuid"]
    person = client.get("/api/v1/persons/search", params={"query": "George Lucas"}).json()[0]["uuid"]
    return {
        "/api/v1/films": FILMS,
        "/api/v1/films/search": f"{FILMS}/search?query=star",
        "/api/v1/films/{film_id}": f"{FILMS}/{public_film}",
        "/api/v1/genres": "/api/v1/genres",
        "/api/v1/genres/{genre_id}": f"/api/v1/genres/{genre}",
        "/api/v1/persons/search": "/api/v1/persons/search?query=lucas",
        "/api/v1/persons/{person_id}": f"/api/v1/persons/{person}",
        "/api/v1/persons/{person_id}/film": f"/api/v1/persons/{person}/film",
    }


def api_routes(client) -> set[str]:
    """Every path of the API, as its OpenAPI spec lists them."""
    return {path for path in client.get("/api/openapi.json").json()["paths"] if path.startswith("/api/v1")}


def test_every_route_answers_each_kind_of_caller_and_refuses_a_bad_token(client, route_paths, subscriber, plain_user,
                                                                         superuser):  # fmt: skip
    assert set(route_paths) == api_routes(client)
    for path in route_paths.values():
        for headers in ({}, plain_user, subscriber, superuser):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.json())
            assert "X-Auth-Degraded" not in response.headers
        refused = client.get(path, headers=bearer("not-a-token"))
        assert (refused.status_code, refused.json()) == (401, {"detail": "Invalid token"}), path


def test_every_route_refuses_other_methods_with_a_json_405(client, route_paths):
    for path in route_paths.values():
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = client.request(method, path, json={"imdb_rating": 1})
            assert response.status_code == 405, (method, path)
            assert response.json() == {"detail": "Method Not Allowed"}


def test_odd_ids_and_missing_ones_are_a_404(client, route_paths, subscriber):
    # A path segment that is not a uuid names no resource: it is never parsed as an id (so `/genres/search`
    # is as unknown as any other word).
    with_ids = [template for template in route_paths if "{" in template]
    for template in with_ids:
        prefix, _, rest = template.partition("{")
        suffix = rest.partition("}")[2]
        for odd in ODD_IDS:
            response = client.get(f"{prefix}{odd}{suffix}", headers=subscriber)
            assert (response.status_code, response.json()) == (404, {"detail": "Not Found"}), (template, odd)
        missing = client.get(f"{prefix}00000000-0000-0000-0000-000000000000{suffix}", headers=subscriber)
        assert missing.status_code == 404 and "detail" in missing.json(), template
