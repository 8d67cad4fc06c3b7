"""GET /auth/metrics: each request moves the series it should, by route template and outcome, and nothing a client
chooses (a path, a user id, a method) becomes a label value."""

from __future__ import annotations

import uuid
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from auth_support import PASSWORD, bearer, give, login, validate

API = "/auth/api/v1"
LOGIN = f"{API}/auth_token"
VALIDATION = f"{API}/auth_token/validation"
CHECK = f"{API}/users/<user_id>/combined_permissions/validation"


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /auth/metrics, by name and labels."""
    response = client.get("/auth/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_request_moves_its_counter_and_its_histogram(client):
    before = scrape(client)
    assert client.get("/auth/healthz").status_code == 200
    after = scrape(client)

    route = {"method": "GET", "route": "/auth/healthz"}
    assert moved(before, after, "http_requests_total", **route, status="200") == 1
    assert moved(before, after, "http_request_duration_seconds_count", **route) == 1
    assert moved(before, after, "http_request_duration_seconds_bucket", **route, le="+Inf") == 1
    assert moved(before, after, "http_request_duration_seconds_sum", **route) > 0


def test_logins_are_counted_by_outcome(client, account):
    before = scrape(client)
    assert login(client, account.email).status_code == 200
    assert login(client, account.email, "not the password").status_code == 401
    assert login(client, "nobody@example.com").status_code == 401
    after = scrape(client)

    assert moved(before, after, "movies_auth_logins_total", outcome="success") == 1
    assert moved(before, after, "movies_auth_logins_total", outcome="invalid_credentials") == 2
    assert moved(before, after, "http_requests_total", method="POST", route=LOGIN, status="401") == 2


def test_a_lockout_is_counted_as_one_and_its_login_as_throttled(client, account, limits):
    limits(login_free_failures=1, login_failure_delay=timedelta(minutes=1))
    before = scrape(client)
    assert login(client, account.email, "wrong").status_code == 401
    assert login(client, account.email, PASSWORD).status_code == 429
    after = scrape(client)

    assert moved(before, after, "movies_auth_login_lockouts_total") == 1
    assert moved(before, after, "movies_auth_logins_total", outcome="throttled") == 1


def test_refresh_token_reuse_is_counted(client, account):
    refresh = f"{API}/auth_token/token_refresh"
    newer = client.post(refresh, headers=bearer(account.refresh_token)).json["refresh_token"]
    client.post(refresh, headers=bearer(newer))
    before = scrape(client)
    assert client.post(refresh, headers=bearer(account.refresh_token)).status_code == 401
    after = scrape(client)

    assert moved(before, after, "movies_auth_refresh_reuse_detected_total") == 1


def test_token_checks_are_counted_by_outcome_on_the_fast_path_and_in_flask(client, account):
    before = scrape(client)
    for _ in range(3):  # the first may be Flask's, the others the fast checks'
        assert validate(client, account.access_token).status_code == 200
    assert validate(client, "not.a.token").status_code == 422  # malformed: flask-jwt-extended says 422
    after = scrape(client)

    assert moved(before, after, "movies_auth_token_checks_total", outcome="valid") == 3
    assert moved(before, after, "movies_auth_token_checks_total", outcome="invalid") == 1
    assert moved(before, after, "http_requests_total", method="GET", route=VALIDATION, status="200") == 3


def test_permission_checks_are_counted_by_verdict_and_refusal(app, client, account, make_account):
    give(app, account, permission="pro_read")
    stranger = make_account("stranger@example.com")
    path = f"{API}/users/{account.uuid}/combined_permissions/validation"
    before = scrape(client)
    for _ in range(2):
        assert client.get(path, query_string={"permissions": "pro_read"}, headers=account.headers).json["valid"]
    assert not client.get(path, query_string={"permissions": "all_all"}, headers=account.headers).json["valid"]
    assert client.get(path, query_string={"permissions": "pro_read"}, headers=stranger.headers).status_code == 403
    after = scrape(client)

    assert moved(before, after, "movies_auth_permission_checks_total", outcome="granted") == 2
    assert moved(before, after, "movies_auth_permission_checks_total", outcome="denied") == 1
    assert moved(before, after, "movies_auth_permission_checks_total", outcome="forbidden") == 1
    assert moved(before, after, "http_requests_total", method="GET", route=CHECK, status="200") == 3


def test_no_path_user_id_or_method_a_client_chooses_becomes_a_label(client, account):
    made_up = uuid.uuid4().hex
    client.get(f"/auth/{made_up}")
    client.get(f"{API}/users/{account.uuid}", headers=account.headers)
    client.open("/auth/healthz", method=f"X{made_up[:8].upper()}")
    text = client.get("/auth/metrics").get_data(as_text=True)
    samples = scrape(client)

    assert made_up not in text and made_up[:8].upper() not in text
    assert account.uuid not in text
    assert value(samples, "http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert value(samples, "http_requests_total", method="GET", route=f"{API}/users/<user_id>", status="200") >= 1
    assert value(samples, "http_requests_total", method="OTHER", route="unmatched", status="405") >= 1
