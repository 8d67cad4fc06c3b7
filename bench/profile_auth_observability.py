"""CPU per request of movies_auth's two hot checks with metrics and tracing on against both off: the app driven
in-process through its whole WSGI stack (no server, no sockets), on real PostgreSQL and Redis.

    DATABASE_URL=... REDIS_URL=... python bench/profile_auth_observability.py [--requests 5000] [--rounds 3] [--top 25]

The settings are `make bench BENCH_ARGS=--observability-only`'s: production, logs at INFO (to /dev/null here),
and on the observed side metrics in multiprocess mode plus traces sampled at 10 % by `parentbased_traceidratio`,
exported over OTLP/HTTP to a local receiver. Each side runs in an interpreter of its own (tracing is installed
process-wide), the two in turn, round by round, so both see the same machine. CPU time (the process's, export
thread included) rather than wall time: time spent waiting for a CPU on a shared machine is not work.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "benchmark password 1"
ROOT_EMAIL, VIEWER_EMAIL = "profile-root@example.com", "profile-viewer@example.com"
OFF, ON = "metrics and tracing off", "metrics + tracing at 10 %"
WARM_UP = 300


def routes(viewer: str) -> dict[str, str]:
    """The two checks `make bench` measures: name -> path and query, as wrk sends them."""
    condition = quote(json.dumps({"any": ["pro_read"]}))
    return {
        "token validation": "/auth/api/v1/auth_token/validation",
        "permission validation (warm)": f"/auth/api/v1/users/{viewer}/combined_permissions/validation"
        f"?permissions={condition}",
    }


def prepare(scratch: Path) -> tuple[dict[str, str], str, str]:
    """Fresh stores, a superuser and a subscribed viewer; (the server's environment, the viewer's token, id)."""
    from testkit.stores import fresh_database, fresh_redis

    database_url = os.environ["DATABASE_URL"]
    env = os.environ | {
        "APP_ENV": "production",
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(scratch / "auth"),
        "DATABASE_URL": fresh_database(database_url, f"{urlsplit(database_url).path.strip('/')}_profile"),
        "REDIS_URL": fresh_redis(os.environ["REDIS_URL"], 0),
        "JWT_KEYS_DIR": str(scratch / "auth-keys"),
        "SERVICE_SECRET_MOVIES_API": "p" * 64,
        "LOG_LEVEL": "INFO",
        "METRICS_ENABLED": "false",
    }
    env = {name: value for name, value in env.items() if not name.startswith("OTEL_")}
    superuser = ["--email", ROOT_EMAIL, "--password", PASSWORD, "--first-name", "Profile", "--last-name", "Root"]
    for command in (["app", "init"], ["superuser", "create", *superuser]):
        subprocess.run([str(BIN / "flask"), *command], env=env, check=True, capture_output=True)
    os.environ.update(env)
    from movies_auth.settings import Settings

    from movies_auth import create_app

    logging.disable(logging.INFO)  # the access lines of the set-up
    client = create_app(Settings(_env_file=None)).test_client()
    api = "/auth/api/v1"
    viewer = _succeeded(client.post(f"{api}/users", json={"email": VIEWER_EMAIL, "password": PASSWORD})).get_json()
    tokens = {}
    for email in (ROOT_EMAIL, VIEWER_EMAIL):
        answer = client.post(f"{api}/auth_token", json={"email": email, "password": PASSWORD})
        tokens[email] = _succeeded(answer).get_json()["access_token"]
    _succeeded(client.post(f"{api}/users/{viewer['uuid']}/roles", json={"name": "subscriber"},
                           headers={"Authorization": f"Bearer {tokens[ROOT_EMAIL]}"}))  # fmt: skip
    return env, tokens[VIEWER_EMAIL], viewer["uuid"]


def _succeeded(answer: TestResponse) -> TestResponse:
    if answer.status_code >= 300:
        sys.exit(f"set-up: {answer.status} {answer.get_data(as_text=True)}")
    return answer


def measure(side: str, token: str, viewer: str, count: int, top: int, sort: str) -> dict[str, float]:
    """In this interpreter, set up as `side`: CPU microseconds per request of each check."""
    from movies_auth.settings import Settings
    from werkzeug.test import EnvironBuilder

    from movies_auth import create_app

    sys.stderr = open(os.devnull, "w")
    # gunicorn's config imports it, and logging then names the process in every record: on both sides alike.
    import multiprocessing  # noqa: F401

    app = create_app(Settings(_env_file=None))
    serve = app.wsgi_app
    statuses: list[str] = []

    def start_response(status: str, _headers: list, _exc_info: object = None) -> object:
        statuses.append(status)
        return None

    result = {}
    for name, target in routes(viewer).items():
        path, _, query = target.partition("?")
        builder = EnvironBuilder(path=path, query_string=query, headers={"Authorization": f"Bearer {token}"},
                                 base_url="http://127.0.0.1:5000")  # fmt: skip
        environ = builder.get_environ()

        for _ in range(WARM_UP):
            _serve_once(serve, environ, start_response)
        if statuses[-1] != "200 OK":
            sys.exit(f"{name}: {statuses[-1]}")
        profiler = cProfile.Profile(time.process_time) if top else None
        if profiler:
            profiler.enable()
        started = time.process_time()
        for _ in range(count):
            _serve_once(serve, environ, start_response)
        result[name] = (time.process_time() - started) / count * 1e6
        if profiler:
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
            print(f"=== {name}, {side} (under cProfile)\n" + out.getvalue().split("\n", 6)[-1], file=sys.__stderr__)
    if side == ON:
        from opentelemetry import trace

        trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    return result


def _serve_once(serve: Callable, environ: dict, start_response: Callable) -> None:
    for _chunk in serve(dict(environ), start_response):
        pass


def side_env(side: str, scratch: Path, sink_url: str) -> dict[str, str]:
    """The environment of one side, as `make bench --observability-only` starts its servers."""
    if side == OFF:
        return {"METRICS_ENABLED": "false"}
    metrics_directory = tempfile.mkdtemp(prefix="metrics-", dir=scratch)
    return {
        "METRICS_ENABLED": "true",
        "PROMETHEUS_MULTIPROC_DIR": metrics_directory,
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink_url,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }


def main(options: argparse.Namespace) -> None:
    if options.side:
        token, viewer = os.environ["PROFILE_TOKEN"], os.environ["PROFILE_VIEWER"]
        print(json.dumps(measure(options.side, token, viewer, options.requests, options.top, options.sort)))
        return
    sys.path.insert(0, str(REPO / "bench"))
    from otlp_sink import OtlpSink

    scratch = Path(tempfile.mkdtemp(prefix="movies-profile-"))
    env, token, viewer = prepare(scratch)
    sink = OtlpSink()
    runs: dict[str, list[dict[str, float]]] = {OFF: [], ON: []}
    for _round in range(options.rounds):
        for side in (OFF, ON):
            child_env = env | side_env(side, scratch, sink.url) | {"PROFILE_TOKEN": token, "PROFILE_VIEWER": viewer}
            command = [sys.executable, __file__, "--side", side, "--requests", str(options.requests),
                       "--top", str(options.top), "--sort", options.sort]  # fmt: skip
            done = subprocess.run(command, env=child_env, check=True, capture_output=True, text=True)
            sys.__stderr__.write(done.stderr)
            runs[side].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"CPU us per request, median of {options.rounds} rounds of {options.requests} requests")
    for name in routes(viewer):
        off, on = (sorted(run[name] for run in runs[side])[len(runs[side]) // 2] for side in (OFF, ON))
        print(f"  {name:30} off {off:7.1f}  on {on:7.1f}  off/on {off / on:.3f}")
    print(f"  the traced side exported {sink.exports} batches")
    sink.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=0, help="also print the N functions with most own time")
    parser.add_argument("--sort", default="tottime", help="the order of --top: tottime or cumulative")
    parser.add_argument("--side", choices=(OFF, ON), help=argparse.SUPPRESS)
    main(parser.parse_args())
