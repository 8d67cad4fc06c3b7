"""The service around the endpoints: its spec and docs, health, request ids, logs, and lost dependencies."""

from __future__ import annotations

import logging
import re
from importlib.metadata import version

from openapi_spec_validator import validate

from movies_support import FILMS
from testkit.ports import free_port


def test_the_openapi_spec_is_valid_and_documents_every_path(client):
    spec = client.get("/api/openapi.json").json()
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/v1/films",
        "/api/v1/films/search",
        "/api/v1/films/{film_id}",
        "/api/v1/genres",
        "/api/v1/genres/{genre_id}",
        "/api/v1/persons/search",
        "/api/v1/persons/{person_id}",
        "/api/v1/persons/{person_id}/film",
        "/api/healthz",
        "/api/readyz",
        "/",
    }
    films = spec["paths"]["/api/v1/films"]["get"]
    assert {parameter["name"] for parameter in films["parameters"]} == {
        "page_number", "page_size", "sort", "genre", "page[number]", "page[size]", "filter[genre]",
    }  # fmt: skip
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_the_docs_are_served_with_their_own_assets(client):
    response = client.get("/api/openapi")
    assert response.status_code == 200
    assert "/api/openapi.json" in response.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert {asset.rsplit("/", 1)[-1] for asset in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        assert asset.startswith("/api/openapi/static/")  # never a CDN
        served = client.get(asset)
        assert served.status_code == 200
        assert served.headers["content-type"].split(";")[0] in {"text/javascript", "text/css", "image/png"}
    # OpenAPI 3.1, which FastAPI writes, needs Swagger UI 5.
    bundle = client.get("/api/openapi/static/swagger-ui-bundle.js").text
    assert re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle).group(1) == "5"


def test_the_index_names_the_service_and_every_link_answers(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.json()["service"] == "movies_async_api"
    assert response.json()["version"] == version("movies-async-api")
    assert set(response.json()["links"]) == {"films", "swagger_ui", "openapi", "health", "readiness"}
    for link in response.json()["links"].values():
        assert client.get(link).status_code == 200, link


def test_health_and_readiness(client):
    assert client.get("/api/healthz").json() == {"status": "ok"}
    assert client.get("/api/readyz").json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_a_request_id_is_echoed_or_made_up(client):
    assert client.get("/api/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    for unusable in (b"", b"has spaces", b"x" * 129, "caf\u00e9".encode(), b"semi;colon"):
        made_up = client.get("/api/healthz", headers={"X-Request-Id": unusable})
        assert len(made_up.headers["X-Request-Id"]) == 32


def test_each_request_is_logged_once_with_its_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="movies_async_api.access"):
        client.get(FILMS, params={"page_size": 2}, headers={"X-Request-Id": "log-me-1"})
    [line] = [record for record in caplog.records if record.name == "movies_async_api.access"]
    assert line.getMessage().startswith("GET /api/v1/films 200 ")
    assert line.request_id == "log-me-1"


def test_errors_are_json(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong_method = client.post(FILMS)
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "Method Not Allowed"}


def test_a_lost_database_is_a_503_not_a_stack_trace(make_client, auth_service):
    client = make_client(auth_service.url, database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    for path in (FILMS, f"{FILMS}/search?query=star", "/api/v1/genres"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json() == {"detail": "The catalogue is unavailable; try again shortly"}
    ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"


def test_a_lost_redis_only_costs_the_cache(make_client, auth_service):
    client = make_client(auth_service.url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = client.get(FILMS, params={"page_size": 3})
    assert response.status_code == 200
    assert len(response.json()) == 3
    ready = client.get("/api/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == "unavailable"


def test_answers_are_cached_with_a_ttl(client):
    client.get(FILMS, params={"page_size": 3})
    redis = client.app.state.cache.redis
    [key] = client.portal.call(redis.keys, "movies:response:*")
    assert key.startswith(b"movies:response:public:/api/v1/films?")
    assert 0 < client.portal.call(redis.ttl, key) <= client.app.state.settings.response_cache_ttl
