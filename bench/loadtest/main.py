"""`make bench`: movies_auth and the movies API under their production gunicorn settings, on real PostgreSQL and
Redis, driven by wrk at fixed concurrency, each row reported as a ratio to a constant answer measured in the same
run under the identical gunicorn settings: a constant-JSON Flask app for movies_auth, a constant 50-film page from
a FastAPI app for the movies API (bench/reference_app.py).

    python bench/run.py [--duration 10] [--connections 32] [--threads 2] [--rounds 3]
                         [--scale | --workers | --movies | --observability-only | --cluster]

DATABASE_URL (a server the benchmark may create databases on) and REDIS_URL (a database it may wipe, and the
next one) say where. The table and the target checks go to the terminal, and to bench/results/<time>.json and
<time>.png. `--scale` then fills the stores to a million users, five million login-history rows and a million
live session records, and measures the auth rows again. `--workers` instead measures the two checks under each of
several gunicorn worker settings, which is how movies_auth's default was chosen. `--cluster` instead measures the
hot auth rows on one Redis and on a 3-primary/3-replica Redis Cluster it starts on loopback (ports 7120-7125),
then kills a cluster primary in the middle of validations and logouts and reports the errors and longest gap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import signing

from loadtest.cluster import compare_redis_cluster
from loadtest.common import (
    BIN,
    FILM_LIST_PATH,
    GENEROUS,
    MOVIES_FILM_LIST,
    NO_SESSION_LIMIT,
    PASSWORD,
    REPO,
    ROOT_EMAIL,
)
from loadtest.measure import auth_rows, movies_rows, validation_during_password_guessing
from loadtest.observability import observability_rows
from loadtest.report import report
from loadtest.rows import Row, reference_row
from loadtest.scale import fill_to_scale, session_memory
from loadtest.services import argon2_hash_ms, auth_settings, gunicorn, subscriber_and_superuser
from loadtest.workers import compare_worker_settings
from loadtest.wrk import Wrk
from testkit.stores import fresh_database, fresh_redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each compared row and of its reference")
    parser.add_argument("--scale", action="store_true", help="then fill the stores to scale and rerun the auth rows")
    parser.add_argument(
        "--workers", action="store_true", help="instead, measure the checks under each gunicorn worker setting"
    )
    parser.add_argument("--movies", action="store_true", help="only the movies API's rows (a shorter run)")
    parser.add_argument(
        "--observability-only", action="store_true", help="only the rows with metrics and tracing on against off"
    )
    parser.add_argument(
        "--cluster", action="store_true", help="instead, compare one Redis with a Redis Cluster, then fail one over"
    )
    options = parser.parse_args()

    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgresql") or not redis_url.startswith("redis"):
        sys.exit("make bench needs real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    scratch = Path(tempfile.mkdtemp(prefix="movies-bench-"))
    # Named after DATABASE_URL's database, as the test suites name theirs, so benches on one server do not collide.
    scratch_databases = f"{urlsplit(database_url).path.strip('/') or 'movies'}_bench"
    auth_config, movies_config = REPO / "movies_auth/gunicorn.conf.py", REPO / "movies_async_api/gunicorn.conf.py"

    # Production settings, as .env.prod.example sets them (logs at INFO, to a file as a container's would go).
    service_secret = uuid.uuid4().hex * 2
    auth_env = os.environ | {
        "APP_ENV": "production",
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(scratch / "auth"),
        "DATABASE_URL": fresh_database(database_url, f"{scratch_databases}_auth"),
        "REDIS_URL": fresh_redis(redis_url, 1),
        "JWT_KEYS_DIR": str(scratch / "auth-keys"),
        "SERVICE_SECRET_MOVIES_API": service_secret,
        "LOGIN_RATE_LIMIT_PER_IP": GENEROUS,
        "REFRESH_RATE_LIMIT_PER_SESSION": GENEROUS,
        "LOGIN_FREE_FAILURES": "100000000",
        "LOGIN_FREE_FAILURES_PER_ACCOUNT": "100000000",
        "MAX_SESSIONS_PER_USER": NO_SESSION_LIMIT,
        "LOG_LEVEL": "INFO",
    }
    auth, auth_url = gunicorn("movies_auth", auth_config, "movies_auth.wsgi:app", auth_env, "/auth/healthz", scratch)
    movies_env = os.environ | {
        "APP_ENV": "production",
        "INSTANCE_PATH": str(scratch / "movies"),
        "DATABASE_URL": fresh_database(database_url, f"{scratch_databases}_movies"),
        "REDIS_URL": fresh_redis(redis_url, 0),
        "AUTH_SERVICE_URL": auth_url,
        "AUTH_SERVICE_SECRET": service_secret,
        "LOG_LEVEL": "INFO",
    }
    movies, movies_url = gunicorn("movies API", movies_config, "movies_async_api.main:app", movies_env,
                                  "/api/healthz", scratch)  # fmt: skip
    reference, reference_url = gunicorn("reference", auth_config, "reference_app:app", auth_env, "/reference",
                                        scratch, "--pythonpath", str(REPO / "bench"))  # fmt: skip
    page_reference, page_reference_url = gunicorn("film page reference", movies_config, "reference_app:film_page",
                                                  movies_env, "/reference", scratch, "--pythonpath",
                                                  str(REPO / "bench"))  # fmt: skip
    superuser = ["--email", ROOT_EMAIL, "--password", PASSWORD, "--first-name", "Bench", "--last-name", "Root"]
    register = ["flask", "services", "ensure", "movies-api", "--secret-env", "SERVICE_SECRET_MOVIES_API"]
    for command, env in [(["flask", "app", "init"], auth_env), (["flask", "superuser", "create", *superuser], auth_env),
                         (register, auth_env), (["movies-api", "demo", "--films", "1000"], movies_env)]:  # fmt: skip
        subprocess.run([str(BIN / command[0]), *command[1:]], env=env, check=True, capture_output=True)

    if options.workers:
        compare_worker_settings(options, scratch, auth_env, auth_config, (auth, auth_url), (reference, reference_url))
        return
    if options.observability_only:
        with auth:
            viewer, _ = subscriber_and_superuser(f"{auth_url}/auth/api/v1")
        Wrk(options, scratch, f"{reference_url}/reference")  # wrk must be there
        rows = observability_rows(Wrk(options, scratch, ""), scratch, auth_env, auth_config, viewer)
        for row in rows:
            ratio = f"  {row.ratio:.3f} of off" if row.ratio else ""
            print(f"{row.name:55} {row.requests_per_second:8.0f} req/s  p99 {row.p99_ms:6.2f} ms{ratio}")
        return
    if options.cluster:
        compare_redis_cluster(options, scratch, auth_env, auth_config, (auth, auth_url), (reference, reference_url))
        return
    wrk = Wrk(options, scratch, f"{reference_url}/reference")
    page_wrk = Wrk(options, scratch, f"{page_reference_url}/reference")
    print("measuring; each row is a 2 s warm-up, then", options.duration, "s", flush=True)
    rows: list[Row] = []
    scaled: list[Row] = []
    bytes_per_session_record = None
    with reference, page_reference, auth, movies:
        viewer, root = subscriber_and_superuser(f"{auth_url}/auth/api/v1")
        if not options.movies:
            rows += auth_rows(wrk, auth_url, viewer, root["headers"])
            rows.append(validation_during_password_guessing(wrk, f"{auth_url}/auth/api/v1", viewer))
            rows += observability_rows(wrk, scratch, auth_env, auth_config, viewer)
        rows += movies_rows(page_wrk, movies_url, viewer)
        if options.scale:
            print("filling the stores to scale ...", flush=True)
            bytes_per_session_record = fill_to_scale(auth_env["DATABASE_URL"], auth_env["REDIS_URL"],
                                                 auth_settings(auth_env))  # fmt: skip
            scaled = auth_rows(wrk, auth_url, viewer, root["headers"], label=" @ scale")
        auth.stop()
        rows.append(page_wrk.compared(f"{MOVIES_FILM_LIST}, subscriber, auth stopped",
                                      f"{movies_url}{FILM_LIST_PATH}", headers=viewer["headers"]))  # fmt: skip

    hash_ms = argon2_hash_ms(auth_settings(auth_env))
    memory = None if options.movies else session_memory(auth_env)
    references = [reference_row(wrk.references, "constant JSON")] if wrk.references else []
    references.append(reference_row(page_wrk.references, "constant film page"))
    report(references, rows, scaled, hash_ms, bytes_per_session_record, signing.measure(), options,
           memory)  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)
