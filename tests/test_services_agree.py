"""movies_auth, the movies API and movies_auth_client agree on what they share: header names, the request-id rule,
the check path, the readiness body, the logging set-up, the request-id spans, the tracer provider and gunicorn's
metrics block.

The movies API imports these from movies_auth_client.contract; movies_auth keeps copies (docs/architecture.md, "What
the services share"). The copies are compared here, and both running services are asked the same questions.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
from movies_auth.observability import logging_setup as auth_logging
from movies_auth.observability import request_context as auth_context
from movies_auth.web import guards

from deployment import REPO, Platform
from movies_async_api import logging_setup as movies_logging
from movies_async_api import request_context as movies_context
from movies_auth_client import contract

SERVICES = {"movies_auth": "/auth", "movies_async_api": "/api"}


@pytest.mark.unit
def test_movies_auth_copies_the_contract_strings() -> None:
    assert guards.SUBJECT_TOKEN_HEADER == contract.SUBJECT_TOKEN_HEADER
    assert auth_context.REQUEST_ID_HEADER == movies_context.REQUEST_ID_HEADER == contract.REQUEST_ID_HEADER
    assert auth_context.ACCEPTABLE_REQUEST_ID.pattern == movies_context.ACCEPTABLE_REQUEST_ID.pattern
    assert auth_context.current_request_id() == movies_context.current_request_id() == "-"


@pytest.mark.unit
def test_both_services_log_in_one_format() -> None:
    assert auth_logging.LOG_FORMAT == movies_logging.LOG_FORMAT
    record = logging.LogRecord("any", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    record.request_id = "req-1"
    lines = [json.loads(module.JsonFormatter().format(record)) for module in (auth_logging, movies_logging)]
    for line in lines:
        line.pop("time")
    assert lines[0] == lines[1] == {"level": "INFO", "logger": "any", "message": "hello there",
                                    "request_id": "req-1", "trace_id": None, "span_id": None}  # fmt: skip


@pytest.mark.unit
def test_log_records_carry_the_request_id_alike() -> None:
    for module in (auth_context, movies_context):
        record = logging.LogRecord("any", logging.INFO, __file__, 1, "hello", (), None)
        assert module.RequestIdFilter().filter(record) and record.request_id == "-"
    assert auth_context.access_log.name == "movies_auth.access"
    assert movies_context.access_logger.name == "movies_async_api.access"


def _source(path: str, package: str) -> str:
    return (REPO / path).read_text().replace(package, "<service>")


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)].rstrip()


# movies_auth keeps its observability modules in observability/, the movies API at its top level.
AUTH_OBSERVABILITY = "movies_auth/src/movies_auth/observability"
MOVIES = "movies_async_api/src/movies_async_api"


def _auth_source(name: str) -> str:
    return _source(f"{AUTH_OBSERVABILITY}/{name}", "movies_auth").replace("<service>.observability.", "<service>.")


@pytest.mark.unit
def test_the_json_log_line_is_one_copy() -> None:
    # configure_logging differs on purpose: the movies API quiets httpx, its client of movies_auth.
    def shared(text: str) -> str:
        return _between(text, "LOG_FORMAT = ", "\ndef configure_logging")

    movies = _source(f"{MOVIES}/logging_setup.py", "movies_async_api")
    assert shared(_auth_source("logging_setup.py")) == shared(movies)


@pytest.mark.unit
def test_the_tracer_provider_is_one_copy() -> None:
    # Each service names itself by default, and instruments its own framework (Flask's WSGI, FastAPI's ASGI).
    def shared(text: str) -> str:
        return _between(text, "REQUEST_ID_ATTRIBUTE = ", "\ndef instrument")

    auth, movies = _auth_source("tracing.py"), _source(f"{MOVIES}/tracing.py", "movies_async_api")
    assert shared(auth) == shared(movies)
    assert "def tracing_enabled" in shared(auth) and "def tracer_provider" in shared(auth)


@pytest.mark.unit
def test_the_request_id_span_processor_is_one_copy() -> None:
    assert _source("movies_auth/src/movies_auth/observability/request_id_spans.py", "movies_auth") == _source(
        "movies_async_api/src/movies_async_api/request_id_spans.py", "movies_async_api"
    )


@pytest.mark.unit
def test_gunicorn_sets_up_metrics_and_json_logs_alike() -> None:
    def shared_block(path: str, package: str) -> str:
        text = _source(path, package)
        return text[text.index("# Prometheus multiprocess mode") : text.index("\ndef child_exit")].rstrip()

    # movies_auth keeps its logging set-up in observability/, the movies API at its top level.
    auth = shared_block("movies_auth/gunicorn.conf.py", "movies_auth").replace("<service>.observability.", "<service>.")
    assert auth == shared_block("movies_async_api/gunicorn.conf.py", "movies_async_api")
    assert "PROMETHEUS_MULTIPROC_DIR" in auth and "JsonFormatter" in auth


@pytest.mark.parametrize("service", SERVICES)
def test_readiness_answers_in_one_shape(platform: Platform, service: str) -> None:
    with platform.client() as client:
        ready = client.get(f"{SERVICES[service]}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert set(body) == {"status", "checks"}
    assert {"database", "redis"} <= set(body["checks"])


@pytest.mark.parametrize("service", SERVICES)
def test_request_ids_are_echoed_or_made_up_alike(platform: Platform, service: str) -> None:
    with platform.client() as client:
        echoed = client.get(f"{SERVICES[service]}/healthz", headers={contract.REQUEST_ID_HEADER: "abc-123"})
        made_up = client.get(f"{SERVICES[service]}/healthz", headers={contract.REQUEST_ID_HEADER: "has spaces"})
    assert echoed.headers[contract.REQUEST_ID_HEADER] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers[contract.REQUEST_ID_HEADER])


def test_the_check_path_is_served_by_movies_auth(platform: Platform) -> None:
    with platform.client() as client:
        unauthenticated = client.get(contract.check_path(uuid.uuid4()), params={"permissions": "pro_read"})
    assert unauthenticated.status_code == 401
    assert "msg" in unauthenticated.json()
