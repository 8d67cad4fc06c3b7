"""A clean start (issue 21): the movies API, served by gunicorn with two workers, in front of a movies_auth
that takes 2 s to hand out a service token (as a loaded machine's did). The token request has its own timeout,
so the first try succeeds: no subscriber is served as anonymous once the workers are up, and the log holds no
burst of warnings."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

from movies_support import FILMS, STUB_SERVICE_SECRET, bearer, unsigned_token
from testkit.ports import free_port
from testkit.processes import Process

GUNICORN_CONFIG = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
TOKEN_DELAY = 2.0


def test_a_slow_service_token_at_start_gives_no_degraded_answers_and_no_warning_storm(
    stores, catalogue, stub_auth, tmp_path
):
    stub_auth.service_token_delay = TOKEN_DELAY
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": catalogue,
        "AUTH_SERVICE_URL": stub_auth.url,
        "AUTH_SERVICE_SECRET": STUB_SERVICE_SECRET,
        "AUTH_VERIFY_TOKENS_LOCALLY": "false",
        "AUTH_ANSWER_TTL": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    env.pop("REDIS_URL", None)
    if stores.movies_redis:
        env["REDIS_URL"] = stores.movies_redis
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "movies_async_api.main:app"]
    server = Process(
        "movies-api", command, tmp_path, env, tmp_path / "movies-api.log", f"http://127.0.0.1:{port}/api/healthz"
    )

    started = time.monotonic()
    with server:
        up_after = time.monotonic() - started
        subscriber = bearer(unsigned_token())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            answers = [http.get(FILMS, headers=subscriber) for _ in range(40)]

    assert up_after >= TOKEN_DELAY  # each worker waited for its token before serving
    assert stub_auth.service_tokens_issued == 2  # one per worker, each at the first try
    assert [answer.status_code for answer in answers] == [200] * 40
    assert [answer.headers.get("X-Auth-Degraded") for answer in answers] == [None] * 40
    assert all(any(film["imdb_rating"] > 7.0 for film in answer.json()) for answer in answers)
    warnings = [line for line in server.output().splitlines() if " WARNING " in line or " ERROR " in line]
    assert warnings == []
