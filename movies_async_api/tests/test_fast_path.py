"""The fast path: an answer a worker holds is sent byte for byte as the route sends it, to each access level,
and never outlives a catalogue load in any worker.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing
from urllib.parse import urlsplit

import psycopg
import pytest

from movies_async_api.local_answers import answer_key
from movies_async_api.visibility import Access
from movies_support import FILMS, bearer, unsigned_token
from testkit.ports import free_port

# Long enough that nothing held expires while a test looks at it, on however loaded a machine.
HOLD = {"response_local_cache_ttl": 600}
NO_FAST_PATH = {"response_local_cache_ttl": 0}


@pytest.fixture(scope="module")
def paths(client) -> list[str]:
    """One request for each API route, with real ids and some query parameters (a film anyone may see)."""
    public_film = client.get(FILMS, params={"sort": "imdb_rating"}).json()[0]["uuid"]
    genre = client.get("/api/v1/genres").json()[0]["uuid"]
    person = client.get("/api/v1/persons/search", params={"query": "George Lucas"}).json()[0]["uuid"]
    return [
        f"{FILMS}?page_size=50&sort=-imdb_rating",
        f"{FILMS}?page[size]=7&page[number]=2&filter[genre]={genre}",
        f"{FILMS}/search?query=star+wars",
        f"{FILMS}/{public_film}",
        "/api/v1/genres",
        f"/api/v1/genres/{genre}",
        "/api/v1/persons/search?query=lucas",
        f"/api/v1/persons/{person}",
        f"/api/v1/persons/{person}/film",
    ]


@pytest.fixture(scope="module")
def pro_token(auth_service) -> str:
    return auth_service.new_user(role="subscriber")[1]["access_token"]


def seen(response) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Everything a client sees of an answer but its request id, which is new for every request."""
    headers = [(name, value) for name, value in response.headers.multi_items() if name != "x-request-id"]
    return response.status_code, response.content, headers


def held(client, access: Access, path: str) -> bool:
    """Whether this worker holds the answer for `path` at `access`."""
    split = urlsplit(path)
    return client.app.state.local_answers.get(answer_key(access, split.path, split.query.encode())) is not None


def fast_and_routed(make_client, auth_service) -> tuple:
    """Two movies APIs in front of the real movies_auth: one with the fast path, one without."""
    secret = {"auth_service_secret": auth_service.service_secret}
    return make_client(auth_service.url, **secret, **HOLD), make_client(auth_service.url, **secret, **NO_FAST_PATH)


def assert_fast_answers_match_routed(fast, routed, paths: list[str], headers: dict, access: Access) -> None:
    for path in paths:
        expected = seen(routed.get(path, headers=headers))
        assert expected[0] == 200, (path, expected)
        first = fast.get(path, headers=headers)  # routed, and now held
        assert held(fast, access, path), path
        again = fast.get(path, headers=headers)  # sent by the fast path
        assert seen(first) == expected, path
        assert seen(again) == expected, path
        assert again.headers["x-request-id"] != first.headers["x-request-id"]


def test_anonymous_answers_are_the_same_bytes_either_way(make_client, auth_service, paths):
    fast, routed = fast_and_routed(make_client, auth_service)
    assert_fast_answers_match_routed(fast, routed, paths, {}, Access.PUBLIC)
    assert not held(routed, Access.PUBLIC, paths[0])


def test_a_subscribers_answers_are_the_same_bytes_either_way(make_client, auth_service, paths, pro_token):
    fast, routed = fast_and_routed(make_client, auth_service)
    assert_fast_answers_match_routed(fast, routed, paths, bearer(pro_token), Access.FULL)
    # The subscriber's page holds films anonymous callers may not see, and is not what they are sent.
    pro_page = fast.get(paths[0], headers=bearer(pro_token)).json()
    assert any((film["imdb_rating"] or 0) > 7.0 for film in pro_page)
    public_page = fast.get(paths[0]).json()
    assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in public_page)


def test_degraded_answers_are_the_same_bytes_either_way(make_client, paths):
    dead = f"http://127.0.0.1:{free_port()}"
    fast, routed = make_client(dead, **HOLD), make_client(dead, **NO_FAST_PATH)
    headers = bearer(unsigned_token())
    assert_fast_answers_match_routed(fast, routed, paths, headers, Access.PUBLIC)
    assert fast.get(paths[0], headers=headers).headers["X-Auth-Degraded"] == "1"


def test_a_bad_token_is_refused_even_when_the_answer_is_held(make_client, auth_service, paths):
    fast = make_client(auth_service.url, auth_service_secret=auth_service.service_secret, **HOLD)
    fast.get(paths[0])
    assert held(fast, Access.PUBLIC, paths[0])
    refused = fast.get(paths[0], headers=bearer("not-a-token"))
    assert (refused.status_code, refused.json()) == (401, {"detail": "Invalid token"})
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_loses_its_held_answers_as_fast_as_before(make_client, auth_service, paths):
    user_id, tokens = auth_service.new_user(role="subscriber")
    fast = make_client(auth_service.url, auth_service_secret=auth_service.service_secret, **HOLD)
    headers = bearer(tokens["access_token"])
    assert fast.get(paths[0], headers=headers).status_code == 200
    assert held(fast, Access.FULL, paths[0])
    status, _ = auth_service.call("DELETE", f"/users/{user_id}/roles/subscriber", None, auth_service.root_token)
    assert status in (200, 204)
    # The test settings reuse no answer of movies_auth's (AUTH_ANSWER_TTL=0): the next request is public.
    page = fast.get(paths[0], headers=headers).json()
    assert all(film["imdb_rating"] is None or film["imdb_rating"] <= 7.0 for film in page)


def test_errors_are_never_held(make_client, auth_service):
    fast = make_client(auth_service.url, auth_service_secret=auth_service.service_secret, **HOLD)
    for path in (f"{FILMS}?page_size=0", f"{FILMS}/00000000-0000-0000-0000-000000000000", f"{FILMS}?nope=1"):
        assert fast.get(path).status_code >= 400
        assert not held(fast, Access.PUBLIC, path)


def test_the_held_answers_are_bounded_in_bytes(make_client, auth_service):
    bound = 20_000
    fast = make_client(
        auth_service.url, auth_service_secret=auth_service.service_secret, response_local_cache_bytes=bound, **HOLD
    )
    for number in range(1, 40):
        assert fast.get(FILMS, params={"page_number": number, "page_size": 20}).status_code == 200
    assert 0 < fast.app.state.local_answers.stored_bytes <= bound


def _retitle(database_url: str, old: str, new: str) -> None:
    statement = "UPDATE films SET title = {} WHERE title = {}"
    if database_url.startswith("sqlite"):
        with closing(sqlite3.connect(urlsplit(database_url).path)) as connection, connection:
            connection.execute(statement.format("?", "?"), (new, old))
    else:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(statement.format("%s", "%s"), (new, old))


def test_a_catalogue_change_clears_every_workers_held_answers(make_client, auth_service, stores, catalogue):
    if not stores.movies_redis:
        pytest.skip("workers share a catalogue-change channel only through a real Redis")
    secret = {"auth_service_secret": auth_service.service_secret}
    workers = [make_client(auth_service.url, **secret, **HOLD) for _ in range(2)]
    path = f"{FILMS}?sort=title&page_size=1"
    title = workers[0].get(path).json()[0]["title"]
    assert all(worker.get(path).json()[0]["title"] == title for worker in workers)
    renamed = f"{title} (restored)"
    _retitle(catalogue, title, renamed)
    try:
        assert all(worker.get(path).json()[0]["title"] == title for worker in workers)  # still held
        workers[0].portal.call(workers[0].app.state.cache.clear)  # what `movies-api load-sqlite` does
        deadline = time.monotonic() + 5
        while any(worker.app.state.local_answers.stored_bytes for worker in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert all(worker.get(path).json()[0]["title"] == renamed for worker in workers)
    finally:
        _retitle(catalogue, renamed, title)
        workers[0].portal.call(workers[0].app.state.cache.clear)


def test_nothing_is_held_while_redis_cannot_tell_of_catalogue_changes(make_client, auth_service):
    fast = make_client(
        auth_service.url,
        auth_service_secret=auth_service.service_secret,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        **HOLD,
    )
    for _ in range(3):
        assert fast.get(FILMS).status_code == 200
    assert not fast.app.state.local_answers.listening
    assert fast.app.state.local_answers.stored_bytes == 0


def test_redis_out_of_reach_is_one_warning_not_one_per_retry(make_client, auth_service, caplog):
    fast = make_client(auth_service.url, redis_url=f"redis://127.0.0.1:{free_port()}/0", **HOLD)
    # The app's logging set-up replaced the root handlers, pytest's among them: listen on the logger itself.
    listener_log = logging.getLogger("movies_async_api.local_answers")
    listener_log.addHandler(caplog.handler)
    try:
        deadline = time.monotonic() + 10
        while len(caplog.records) < 4 and time.monotonic() < deadline:  # attempts come a second apart
            time.sleep(0.1)
    finally:
        listener_log.removeHandler(caplog.handler)

    assert not fast.app.state.local_answers.listening
    attempts = [record for record in caplog.records if "not hearing of catalogue changes" in record.message]
    assert len(attempts) >= 4
    assert [record.levelname for record in attempts].count("WARNING") == 1
