"""GET /api/metrics: each request moves the series it should, by route template; calls to movies_auth by outcome,
the breaker's state and the response cache's hits and misses; nothing a client chooses becomes a label value."""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from movies_support import FILMS, bearer, unsigned_token

FAST = {"auth_failure_threshold": 2, "auth_cooldown": 30, "auth_read_timeout": 0.2}


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /api/metrics, by name and labels."""
    response = client.get("/api/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_request_moves_its_counter_and_its_histogram(client):
    before = scrape(client)
    assert client.get("/api/v1/genres").status_code == 200
    after = scrape(client)

    route = {"method": "GET", "route": "/api/v1/genres"}
    assert moved(before, after, "http_requests_total", **route, status="200") == 1
    assert moved(before, after, "http_request_duration_seconds_count", **route) == 1
    assert moved(before, after, "http_request_duration_seconds_bucket", **route, le="+Inf") == 1


def test_the_response_cache_counts_a_miss_then_a_hit(client):
    before = scrape(client)
    client.get(FILMS, params={"page_size": 2})
    client.get(FILMS, params={"page_size": 2})
    after = scrape(client)

    assert moved(before, after, "movies_api_response_cache_lookups_total", result="miss") == 1
    assert moved(before, after, "movies_api_response_cache_lookups_total", result="hit") == 1


def test_calls_to_auth_are_counted_by_outcome_and_the_breaker_state_is_shown(make_client, stub_auth):
    client = make_client(stub_auth.url, **FAST)
    headers = bearer(unsigned_token())
    before = scrape(client)
    client.get(FILMS, headers=headers)
    stub_auth.behaviour = "error"
    for _ in range(FAST["auth_failure_threshold"]):
        client.get(FILMS, headers=headers)
    after = scrape(client)

    assert moved(before, after, "movies_api_auth_calls_total", operation="permission_check", outcome="ok") == 1
    assert moved(before, after, "movies_api_auth_calls_total", operation="permission_check", outcome="error") == 2
    assert value(after, "movies_api_auth_breaker_state") == 2  # open


def test_an_unreachable_auth_service_is_counted_as_such(make_client, stub_auth):
    stub_auth.behaviour = "hang"
    client = make_client(stub_auth.url, **FAST)
    before = scrape(client)
    client.get(FILMS, headers=bearer(unsigned_token()))
    stub_auth.release.set()
    after = scrape(client)

    assert moved(before, after, "movies_api_auth_calls_total", operation="permission_check", outcome="timeout") == 1
    assert value(after, "movies_api_auth_breaker_state") == 0  # one failure: still closed


def test_no_path_id_or_method_a_client_chooses_becomes_a_label(client):
    made_up = uuid.uuid4()
    client.get(f"/api/v1/films/{made_up}")
    client.get(f"/api/{made_up.hex}")
    client.request(f"X{made_up.hex[:8].upper()}", "/api/healthz")
    text = client.get("/api/metrics").text
    samples = scrape(client)

    assert str(made_up) not in text and made_up.hex not in text and made_up.hex[:8].upper() not in text
    assert value(samples, "http_requests_total", method="GET", route="/api/v1/films/{film_id}", status="404") >= 1
    assert value(samples, "http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert value(samples, "http_requests_total", method="OTHER", route="/api/healthz", status="405") >= 1
