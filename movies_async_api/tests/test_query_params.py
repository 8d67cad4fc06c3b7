"""Query parameters: the Practicum API's names (`page[number]`, `page[size]`, `filter[genre]`) work as aliases of
ours and are in the spec, any parameter a route does not know is a 422 naming it, and no path is taken for an id.
"""

from __future__ import annotations

import pytest

from movies_support import FILMS

PERSONS, GENRES = "/api/v1/persons", "/api/v1/genres"
# Every list and search route, with what it needs besides paging.
PAGED = [(FILMS, {}), (f"{FILMS}/search", {"query": "star"}), (f"{PERSONS}/search", {"query": "george"})]


@pytest.fixture(scope="module")
def genre(client) -> str:
    return next(genre["uuid"] for genre in client.get(GENRES).json() if genre["name"] == "Sci-Fi")


@pytest.fixture(scope="module")
def every_route(client, genre) -> list[str]:
    """A path for each API route (ids of things that exist)."""
    film = client.get(FILMS, params={"sort": "imdb_rating"}).json()[0]["uuid"]
    person = client.get(f"{PERSONS}/search", params={"query": "George Lucas"}).json()[0]["uuid"]
    return [
        FILMS, f"{FILMS}/search?query=star", f"{FILMS}/{film}", GENRES, f"{GENRES}/{genre}",
        f"{PERSONS}/search?query=lucas", f"{PERSONS}/{person}", f"{PERSONS}/{person}/film",
    ]  # fmt: skip


@pytest.mark.parametrize(("path", "needs"), PAGED)
def test_practicum_paging_names_page_as_ours_do(client, path, needs):
    ours = client.get(path, params={**needs, "page_number": 2, "page_size": 3})
    theirs = client.get(path, params={**needs, "page[number]": 2, "page[size]": 3})
    assert ours.status_code == theirs.status_code == 200
    assert theirs.json() == ours.json()
    assert len(theirs.json()) == 3
    first_page = client.get(path, params={**needs, "page[size]": 3}).json()
    assert first_page != theirs.json()


def test_the_practicum_example_request_is_answered_as_asked(client):
    response = client.get(f"{FILMS}?sort=-imdb_rating&page[size]=50&page[number]=1")
    films = response.json()
    assert response.status_code == 200 and len(films) == 50
    ratings = [film["imdb_rating"] for film in films]
    assert ratings == sorted(ratings, reverse=True)
    assert client.get(f"{FILMS}?sort=-imdb_rating&page[size]=5").json() == films[:5]


def test_filter_genre_filters_as_genre_does(client, genre):
    ours = client.get(FILMS, params={"genre": genre, "page_size": 100}).json()
    theirs = client.get(FILMS, params={"filter[genre]": genre, "page_size": 100}).json()
    assert theirs == ours
    assert theirs and theirs != client.get(FILMS, params={"page_size": 100}).json()


@pytest.mark.parametrize(("path", "needs"), [*PAGED, (GENRES, {})])
@pytest.mark.parametrize("unknown", ["page[limit]", "filter[title]", "pagesize", "PAGE_SIZE", "x" * 300])
def test_an_unknown_parameter_is_a_422_naming_it(client, path, needs, unknown):
    response = client.get(path, params={**needs, unknown: "1"})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", unknown]]


def test_every_route_refuses_an_unknown_parameter(client, every_route):
    for path in every_route:
        separator = "&" if "?" in path else "?"
        response = client.get(f"{path}{separator}page[limit]=5")
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"] == ["query", "page[limit]"], path


@pytest.mark.parametrize(("ours", "theirs"), [("page_number", "page[number]"), ("page_size", "page[size]")])
def test_a_parameter_and_its_alias_together_are_a_422(client, ours, theirs):
    response = client.get(FILMS, params={ours: 2, theirs: 3})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", theirs]


@pytest.mark.parametrize(
    ("name", "value"), [("page[size]", "0"), ("page[size]", "101"), ("page[number]", "x"), ("filter[genre]", "drama")]
)
def test_an_alias_is_validated_as_its_parameter(client, name, value):
    response = client.get(FILMS, params={name: value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", name]


def test_the_spec_documents_each_alias_beside_its_parameter(client):
    spec = client.get("/api/openapi.json").json()
    for path, expected in [
        ("/api/v1/films", ["page_number", "page[number]", "page_size", "page[size]", "sort", "genre", "filter[genre]"]),
        ("/api/v1/films/search", ["page_number", "page[number]", "page_size", "page[size]", "query"]),
        ("/api/v1/persons/search", ["page_number", "page[number]", "page_size", "page[size]", "query"]),
    ]:
        parameters = {parameter["name"]: parameter for parameter in spec["paths"][path]["get"]["parameters"]}
        assert list(parameters) == expected
        # The same constraints, but no default: a client filling defaults in would send both names.
        own = dict(parameters["page_size"]["schema"])
        assert own.pop("default") == 50
        assert parameters["page[size]"]["schema"] == own
        assert "page_size" in parameters["page[size]"]["description"]


@pytest.mark.parametrize("word", ["film", "all", "new", "12345", "0" * 31 + "x"])
@pytest.mark.parametrize("prefix", [FILMS, GENRES, PERSONS])
def test_no_word_in_a_path_is_taken_for_an_id(client, prefix, word):
    response = client.get(f"{prefix}/{word}")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_genres_search_is_not_found_rather_than_a_bad_id(client):
    response = client.get(f"{GENRES}/search")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
