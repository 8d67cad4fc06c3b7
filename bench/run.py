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
import base64
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import signing  # noqa: E402 (beside this script)
from movies_auth.models import LoginAttempt, User  # noqa: E402
from movies_auth.services.passwords import Passwords  # noqa: E402
from movies_auth.services.sessions import new_generation, new_session_id  # noqa: E402
from movies_auth.settings import Settings  # noqa: E402
from otlp_sink import OtlpSink  # noqa: E402 (beside this script)

from movies_auth import redis_keys  # noqa: E402
from testkit.ports import free_port  # noqa: E402
from testkit.processes import Process  # noqa: E402
from testkit.redis_servers import RedisClusterServers  # noqa: E402
from testkit.stores import fresh_database, fresh_redis  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
PASSWORD = "benchmark password 1"
ROOT_EMAIL, VIEWER_EMAIL = "bench-root@example.com", "bench-viewer@example.com"
GENEROUS = "100000000 per minute"  # the login and refresh rows measure them, not the limiter's refusals
SCALE = {"users": 1_000_000, "login_history": 5_000_000, "sessions": 1_000_000}
# `session_memory` measures this many users' sessions, each with the default MAX_SESSIONS_PER_USER of them.
SESSION_MEMORY_USERS, SESSIONS_PER_USER = 100, 50
# The login and refresh rows sign the viewer in thousands of times: no session of theirs may end the
# viewer's own, which the later rows (and the movies API) still send.
NO_SESSION_LIMIT = str(1_000_000)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
# (workers, threads) per gunicorn: one thread is gunicorn's sync worker, more its gthread worker.
# The Redis Cluster `--cluster` starts: six nodes on loopback from this port on.
CLUSTER_FIRST_PORT = 7120
WORKER_SETTINGS = ((2, 1), (5, 1), (9, 1), (2, 4), (5, 2), (5, 4), (9, 4))
# The film list as the Practicum task's clients ask for it; its rows compare to a constant page of that shape.
# Seconds for each set-up call (a registration or login hashes a password: slow on a loaded machine).
SETUP_TIMEOUT = 60
# Seconds the subscriber rows wait for the movies API to answer the viewer as a subscriber.
SUBSCRIBER_WAIT = 120
FILM_LIST_PATH = "/api/v1/films?page_size=50&sort=-imdb_rating"
MOVIES_FILM_LIST = "movies: film list"


@dataclass
class Row:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    connections: int
    # Rows at the common concurrency are measured right after the reference, so both see the same machine.
    reference_rps: float | None = None
    reference_p99_ms: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """req/s against the reference's, measured just before."""
        return self.requests_per_second / self.reference_rps if self.reference_rps else None

    @property
    def p99_ratio(self) -> float | None:
        """p99 against the reference's, measured just before."""
        return self.p99_ms / self.reference_p99_ms if self.reference_p99_ms else None


@dataclass
class Target:
    name: str
    measured: float
    limit: float
    met: bool

    @classmethod
    def at_least(cls, name: str, measured: float, limit: float) -> Target:
        return cls(f"{name} >= {limit}", measured, limit, measured >= limit)

    @classmethod
    def at_most(cls, name: str, measured: float, limit: float) -> Target:
        return cls(f"{name} <= {limit}", measured, limit, measured <= limit)


class Wrk:
    """wrk at one fixed concurrency for every row, so rows compare; a row may ask for fewer connections."""

    def __init__(self, options: argparse.Namespace, scratch: Path, reference_url: str) -> None:
        self.binary = shutil.which("wrk") or sys.exit("wrk is not installed (Debian package wrk)")
        self.duration, self.connections, self.threads = options.duration, options.connections, options.threads
        self.rounds, self.scratch, self.reference_url = options.rounds, scratch, reference_url
        self.references: list[Row] = []

    def compared(self, name: str, url: str, **kwargs: object) -> Row:
        """The reference and this row in turn, `rounds` times, each figure the median of its rounds.

        Pairs measured back to back keep the ratio on a noisy machine; a p99 swings most of all between
        runs seconds apart, so one pair would not settle it.
        """
        references, rows = [], []
        for round_ in range(self.rounds):
            warm_up = round_ == 0
            references.append(self.run("reference", self.reference_url, warm_up=warm_up and not self.references))
            self.references.append(references[-1])
            rows.append(self.run(name, url, warm_up=warm_up, **kwargs))  # type: ignore[arg-type]
        row, reference = median_row(name, rows), median_row("reference", references)
        row.reference_rps, row.reference_p99_ms = reference.requests_per_second, reference.p99_ms
        return row

    def run(
        self, name: str, url: str, *, method: str = "GET", headers: dict | None = None, body: str = "",
        connections: int | None = None, script: Callable[[], str] | None = None, warm_up: bool = True,
    ) -> Row:  # fmt: skip
        """Warm the server up (every worker started, every cache filled), then measure.

        `script`, when given, makes the Lua script of each of the two runs (a refresh chain needs a fresh one).
        """
        connections = connections or self.connections
        threads = min(self.threads, connections)
        outputs = []
        for seconds in (2, self.duration) if warm_up else (self.duration,):
            lua = self.scratch / f"{uuid.uuid4().hex}.lua"
            lua.write_text(script() if script else request_script(method, headers or {}, body))
            command = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                       "--latency", "-s", str(lua), url]  # fmt: skip
            outputs.append(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        return Row(name, *parse_wrk(outputs[-1]), connections=connections)


def request_script(method: str, headers: dict[str, str], body: str) -> str:
    """A wrk script sending one fixed request."""
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in headers.items()]
    return "\n".join(lines) + "\n"


def refresh_chain_script(refresh_token: str) -> str:
    """A wrk script (one connection) exchanging each refresh token for the next, as a client does."""
    return f"""
token = {json.dumps(refresh_token)}
request = function()
  return wrk.format("POST", nil, {{["Authorization"] = "Bearer " .. token}}, "")
end
response = function(status, headers, body)
  local next_token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if next_token then token = next_token end
end
"""


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, errors) from wrk's report; errors are non-2xx/3xx answers and socket errors."""

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    if socket := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in socket.groups())
    return rate, latency("50"), latency("99"), errors


def gunicorn(name: str, config: Path, app: str, env: dict[str, str], health: str, scratch: Path, *options: str):
    """`app` under gunicorn with the config file production uses, on a free loopback port; (process, base URL)."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", str(config), *options, app]
    env = env | {"GUNICORN_BIND": f"127.0.0.1:{port}"}
    url = f"http://127.0.0.1:{port}"
    return Process(name, command, REPO, env, scratch / f"{name}.log", url + health), url


def auth_settings(env: dict[str, str]) -> Settings:
    """movies_auth's settings as the benchmarked server reads them from `env`."""
    fields = {name.lower(): value for name, value in env.items() if name.lower() in Settings.model_fields}
    return Settings(_env_file=None, **fields)


def argon2_hash_ms(settings: Settings) -> float:
    """The median time of one argon2id hash at the parameters movies_auth is configured with."""
    passwords = Passwords(settings)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        passwords.hash(PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def after_grant_changes(api: str, viewer: dict, root_headers: dict, condition: str, checks: int = 300) -> Row:
    """Permission checks, one at a time, each right after a grant change made every cached answer stale."""
    path = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
    toggle = f"{api}/roles/subscriber/permissions"
    times = []
    with httpx.Client(timeout=30) as client:
        client.post(f"{api}/permissions", json={"name": "bench_toggle"}, headers=root_headers)
        for number in range(checks):
            if number % 2:
                client.delete(f"{toggle}/bench_toggle", headers=root_headers).raise_for_status()
            else:
                client.post(toggle, json={"name": "bench_toggle"}, headers=root_headers).raise_for_status()
            started = time.perf_counter()
            answer = client.get(path, headers=viewer["headers"])
            times.append((time.perf_counter() - started) * 1000)
            if answer.json() != {"valid": True}:
                raise RuntimeError(f"unexpected answer to a permission check: {answer.text}")
    quantiles = statistics.quantiles(times, n=100)
    return Row("permission validation after a grant change", 1000 / statistics.mean(times), quantiles[49],
               quantiles[98], 0, connections=1)  # fmt: skip


def auth_rows(wrk: Wrk, auth_url: str, viewer: dict, root_headers: dict, label: str = "") -> list[Row]:
    """Every movies_auth row: health, the two validations (warm, and after a grant change), login, refresh."""
    api = f"{auth_url}/auth/api/v1"
    condition = quote(json.dumps({"any": ["pro_read"]}))
    check = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
    credentials = {"email": VIEWER_EMAIL, "password": PASSWORD}

    def fresh_refresh_chain() -> str:
        return refresh_chain_script(httpx.post(f"{api}/auth_token", json=credentials).json()["refresh_token"])

    rows = [
        wrk.compared("/auth/healthz", f"{auth_url}/auth/healthz"),
        wrk.compared("token validation", f"{api}/auth_token/validation", headers=viewer["headers"]),
        wrk.compared("permission validation (warm)", check, headers=viewer["headers"]),
        after_grant_changes(api, viewer, root_headers, condition),
        # One at a time: latency is then the server's time per login, to set beside one hash.
        wrk.run(
            "login (one at a time)",
            f"{api}/auth_token",
            method="POST",
            body=json.dumps(credentials),
            headers={"Content-Type": "application/json"},
            connections=1,
        ),
        wrk.run("refresh (one chain)", f"{api}/auth_token/token_refresh", connections=1, script=fresh_refresh_chain),
    ]
    for row in rows:
        row.name += label
    return rows


def movies_rows(wrk: Wrk, movies_url: str, viewer: dict) -> list[Row]:
    """The movies API's rows, each against the constant film page: the film list (anonymous and as a
    subscriber), a search and a film's detail, every cache warm."""
    api = f"{movies_url}/api/v1"
    films = f"{movies_url}{FILM_LIST_PATH}"
    first = httpx.get(films, timeout=SETUP_TIMEOUT).raise_for_status().json()[0]["uuid"]
    anonymous = wrk.compared(f"{MOVIES_FILM_LIST}, anonymous", films)
    as_subscriber = served_as_subscriber(films, viewer["headers"])
    rows = [
        wrk.compared(f"{MOVIES_FILM_LIST}, subscriber", films, headers=viewer["headers"]),
        wrk.compared("movies: search, subscriber", f"{api}/films/search?query=empire", headers=viewer["headers"]),
        wrk.compared("movies: film detail, subscriber", f"{api}/films/{first}", headers=viewer["headers"]),
    ]
    if not as_subscriber or not served_as_subscriber(films, viewer["headers"], within=0):
        for row in rows:
            row.note = "answered degraded: movies API had no word from movies_auth"
    return [anonymous, *rows]


def served_as_subscriber(url: str, headers: dict, within: float = SUBSCRIBER_WAIT) -> bool:
    """Whether the movies API answers the viewer as a subscriber, not degraded, within `within` seconds.

    A movies API that has no service token yet (movies_auth slow to answer on a loaded machine) serves every
    subscriber as anonymous: a row measured then measures the degraded path, and says so.
    """
    deadline = time.monotonic() + within
    while True:
        if "X-Auth-Degraded" not in httpx.get(url, headers=headers, timeout=SETUP_TIMEOUT).headers:
            return True
        if time.monotonic() >= deadline:
            print(f"  the movies API still answers the subscriber degraded after {within:.0f} s", flush=True)
            return False
        time.sleep(1)


def fill_to_scale(database_url: str, redis_url: str, settings: Settings) -> float:
    """Bulk-load users, login history and live session records; Redis bytes per session record (INFO memory)."""
    password_hash = Passwords(settings).hash(PASSWORD)
    per_user = SCALE["login_history"] // SCALE["users"]
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO {User.__tablename__} (id, email, password_hash, created_at) "
            "SELECT gen_random_uuid(), 'scale-' || n || '@example.com', %s, now() FROM generate_series(1, %s) n",
            (password_hash, SCALE["users"]),
        )
        connection.execute(
            f"INSERT INTO {LoginAttempt.__tablename__} (id, user_id, email, time, ip_address, user_agent, success) "
            "SELECT gen_random_uuid(), u.id, u.email, now() - random() * interval '365 days', '10.0.0.1', "
            f"'bench', random() > 0.2 FROM {User.__tablename__} u CROSS JOIN generate_series(1, %s) "
            "WHERE u.email LIKE 'scale-%%'",
            (per_user,),
        )
        connection.execute("VACUUM ANALYZE")
    print(f"  PostgreSQL filled in {time.monotonic() - started:.0f} s", flush=True)

    client = redis.Redis.from_url(redis_url)
    before = _stored_bytes(client)
    lifetime = int(settings.jwt_refresh_token_expires.total_seconds())
    used = time.time_ns() // 1_000_000
    for batch in range(0, SCALE["sessions"], 10_000):
        pipeline = client.pipeline(transaction=False)
        for _ in range(batch, batch + 10_000):
            # A session record as `sessions.start` writes it: epoch, generation, previous generation, last use.
            record = f"0:{new_generation()}::{used}"
            pipeline.set(redis_keys.session(str(uuid.uuid4()), new_session_id()), record, ex=lifetime)
        pipeline.execute()
    return (_settled_stored_bytes(client) - before) / SCALE["sessions"]


def session_memory(auth_env: dict[str, str]) -> dict[str, float]:
    """Redis bytes per session: live, in its refresh grace window, and ended; through the service's own code.

    `SESSION_MEMORY_USERS` users each sign in `SESSIONS_PER_USER` times, then every session is refreshed
    once, then ended; INFO memory is read after each step. Per-user keys (the index) count in the share.
    """
    from movies_auth.extensions import db
    from movies_auth.services import sessions, tokens

    from movies_auth import create_app

    settings = auth_settings(auth_env)
    client = redis.Redis.from_url(auth_env["REDIS_URL"])
    app = create_app(settings)
    with app.app_context():
        no_password = "-"
        users = [User(email=f"memory-{n}@example.com", password_hash=no_password) for n in range(SESSION_MEMORY_USERS)]
        db.session.add_all(users)
        db.session.commit()
        before = _settled_stored_bytes(client)
        started = [
            (str(user.id), *sessions.start(user.id, ip_address="10.0.0.1", user_agent=BROWSER, method="password"))
            for user in users
            for _ in range(SESSIONS_PER_USER)
        ]
        live = _settled_stored_bytes(client)
        for user_id, session_id, generation in started:
            tokens.rotate({"sub": user_id, "sid": session_id, "gen": generation})
        in_grace = _settled_stored_bytes(client)
        for user_id, session_id, _ in started:
            sessions.end(user_id, session_id)
        ended = _settled_stored_bytes(client)
    count = len(started)
    return {"live": (live - before) / count, "in grace": (in_grace - before) / count, "ended": (ended - before) / count}


def _stored_bytes(client: redis.Redis) -> int:
    # Without client buffers: idle workers' tracking connections hold unread invalidation notices
    # for a while (up to Redis's pub/sub output-buffer limit), which no revocation keeps.
    memory = client.info("memory")
    return memory["used_memory"] - memory["mem_clients_normal"]


def _settled_stored_bytes(client: redis.Redis, within: float = 30) -> int:
    """`_stored_bytes` once it holds still: Redis frees the buffers of the tracking connections it dropped
    for falling behind a moment after dropping them, and until then they count as stored."""
    deadline = time.monotonic() + within
    last = _stored_bytes(client)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _stored_bytes(client)
        if abs(now - last) < 0.001 * last:
            return now
        last = now
    return last


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
            viewer, _ = _subscriber_and_superuser(f"{auth_url}/auth/api/v1")
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
        viewer, root = _subscriber_and_superuser(f"{auth_url}/auth/api/v1")
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


def compare_worker_settings(
    options: argparse.Namespace, scratch: Path, auth_env: dict[str, str], config: Path,
    auth: tuple[Process, str], reference: tuple[Process, str],
) -> None:  # fmt: skip
    """The two checks and the reference under each of `WORKER_SETTINGS`: how movies_auth's default was chosen."""
    with auth[0], reference[0]:
        viewer, _ = _subscriber_and_superuser(f"{auth[1]}/auth/api/v1")
    condition = quote(json.dumps({"any": ["pro_read"]}))
    print("measuring each worker setting; each row is a 2 s warm-up, then", options.duration, "s", flush=True)
    results = []
    for workers, threads in WORKER_SETTINGS:
        env = auth_env | {"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
        label = f"{workers} x {threads}"
        served, url = gunicorn(f"movies_auth {label}", config, "movies_auth.wsgi:app", env, "/auth/healthz", scratch)
        baseline, baseline_url = gunicorn(f"reference {label}", config, "reference_app:app", env, "/reference",
                                          scratch, "--pythonpath", str(REPO / "bench"))  # fmt: skip
        wrk = Wrk(options, scratch, f"{baseline_url}/reference")
        api = f"{url}/auth/api/v1"
        with served, baseline:
            validation = wrk.compared("token validation", f"{api}/auth_token/validation", headers=viewer["headers"])
            check = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
            permission = wrk.compared("permission validation (warm)", check, headers=viewer["headers"])
            during_logins = _validation_during_logins(wrk, api, viewer)
        rows = (validation, permission, during_logins)
        results.append({"workers": workers, "threads": threads, "rows": [asdict(row) for row in rows]})
        print(f"  {label:>6}  reference {validation.reference_rps:6.0f} req/s"
              f"  validation {validation.requests_per_second:6.0f} req/s ({validation.ratio:.2f}x, p99"
              f" {validation.p99_ms:.1f} ms)  permission {permission.requests_per_second:6.0f} req/s"
              f" ({permission.ratio:.2f}x, p99 {permission.p99_ms:.1f} ms)  during logins"
              f" {during_logins.requests_per_second:6.0f} req/s (p99 {during_logins.p99_ms:.1f} ms)",
              flush=True)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"workers-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps({"machine": _machine(), "settings": results}, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(REPO)}")


OBSERVED, UNOBSERVED = "metrics + tracing at 10 %", "metrics and tracing off"


def observability_rows(wrk: Wrk, scratch: Path, auth_env: dict[str, str], config: Path, viewer: dict) -> list[Row]:
    """Token validation and the warm permission check on two more servers of the same build and stores: one with
    metrics on and tracing at 10 % (exporting to a local OTLP receiver), one with both off; measured in turn."""
    untraced = {name: value for name, value in auth_env.items() if not name.startswith("OTEL_")}
    sink = OtlpSink()
    observed_env = untraced | {
        "METRICS_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    unobserved_env = untraced | {"METRICS_ENABLED": "false"}
    unobserved, unobserved_url = gunicorn("movies_auth unobserved", config, "movies_auth.wsgi:app", unobserved_env,
                                          "/auth/healthz", scratch)  # fmt: skip
    observed, observed_url = gunicorn("movies_auth observed", config, "movies_auth.wsgi:app", observed_env,
                                      "/auth/healthz", scratch)  # fmt: skip
    condition = quote(json.dumps({"any": ["pro_read"]}))
    paths = {
        "token validation": "/auth/api/v1/auth_token/validation",
        "permission validation (warm)": f"/auth/api/v1/users/{viewer['uuid']}/combined_permissions/validation"
        f"?permissions={condition}",
    }
    rows = []
    with unobserved, observed:
        for name, path in paths.items():
            runs: dict[str, list[Row]] = {OBSERVED: [], UNOBSERVED: []}
            for round_ in range(wrk.rounds):
                # In turn, round by round: both see the same machine, however busy it is.
                for label, url in ((UNOBSERVED, unobserved_url), (OBSERVED, observed_url)):
                    runs[label].append(wrk.run(f"{name}, {label}", url + path, headers=viewer["headers"],
                                               warm_up=round_ == 0))  # fmt: skip
            off, on = (median_row(f"{name}, {label}", runs[label]) for label in (UNOBSERVED, OBSERVED))
            on.reference_rps, on.reference_p99_ms = off.requests_per_second, off.p99_ms
            rows += [off, on]
    if not sink.exports:
        raise RuntimeError("the traced server exported no spans to the local OTLP receiver")
    print(f"  the traced server exported {sink.exports} batches, {sink.bytes / 1e6:.1f} MB", flush=True)
    sink.shutdown()
    return rows


def compare_redis_cluster(
    options: argparse.Namespace, scratch: Path, auth_env: dict[str, str], config: Path,
    auth: tuple[Process, str], reference: tuple[Process, str],
) -> None:  # fmt: skip
    """The hot rows on one Redis and on a 3-primary/3-replica Redis Cluster on loopback in the same run, a revocation
    with and without its WAIT for a replica, then a cluster primary killed in the middle of validations and logouts."""
    cluster = RedisClusterServers(scratch / "redis-cluster", CLUSTER_FIRST_PORT)
    cluster.start()
    wrk = Wrk(options, scratch, f"{reference[1]}/reference")
    condition = quote(json.dumps({"any": ["pro_read"]}))
    print("measuring one Redis and the cluster in turn; each row is a 2 s warm-up, then", options.duration, "s",
          flush=True)  # fmt: skip
    setups = {"one Redis": {}, "cluster": {"REDIS_URL": cluster.url},
              "cluster, no WAIT": {"REDIS_URL": cluster.url, "REDIS_REPLICA_ACKS": "0"}}  # fmt: skip
    servers = {label: gunicorn(f"movies_auth, {label}", config, "movies_auth.wsgi:app", auth_env | extra,
                               "/auth/healthz", scratch) for label, extra in setups.items()}  # fmt: skip
    table: dict[str, dict[str, list[Row]]] = {label: {} for label in setups}
    try:
        with auth[0]:
            _subscriber_and_superuser(f"{auth[1]}/auth/api/v1")
        with servers["one Redis"][0], servers["cluster"][0], servers["cluster, no WAIT"][0]:
            apis = {label: f"{url}/auth/api/v1" for label, (_, url) in servers.items()}
            viewers = {label: _log_in(api, VIEWER_EMAIL) for label, api in apis.items()}
            # In turn, round after round, so a machine busy with something else weighs on both sides alike.
            for _ in range(options.rounds):
                for label, api in apis.items():
                    rows = _hot_rows(wrk, api, viewers[label], condition) if label != "cluster, no WAIT" else {}
                    rows["sign out other devices (one at a time)"] = wrk.run(
                        "sign out other devices", f"{api}/users/{viewers[label]['uuid']}/sessions", method="DELETE",
                        headers=viewers[label]["headers"], connections=1,
                    )  # fmt: skip
                    for name, row in rows.items():
                        table[label].setdefault(name, []).append(row)
            failover = _failover(apis["cluster"], cluster, viewers["cluster"])
    finally:
        cluster.stop()
    medians = {label: {name: median_row(name, rows) for name, rows in named.items()} for label, named in table.items()}
    _report_cluster(medians, failover)


def _hot_rows(wrk: Wrk, api: str, viewer: dict, condition: str) -> dict[str, Row]:
    credentials = {"email": VIEWER_EMAIL, "password": PASSWORD}

    def fresh_refresh_chain() -> str:
        return refresh_chain_script(httpx.post(f"{api}/auth_token", json=credentials).json()["refresh_token"])

    check = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
    login = {"method": "POST", "body": json.dumps(credentials), "headers": {"Content-Type": "application/json"}}
    return {
        "token validation": wrk.run("token validation", f"{api}/auth_token/validation", headers=viewer["headers"]),
        "permission validation (warm)": wrk.run("permission validation", check, headers=viewer["headers"]),
        "login (one at a time)": wrk.run("login", f"{api}/auth_token", connections=1, **login),
        "refresh (one chain)": wrk.run(
            "refresh", f"{api}/auth_token/token_refresh", connections=1, script=fresh_refresh_chain
        ),
    }


def _failover(api: str, cluster: RedisClusterServers, viewer: dict, sessions: int = 40) -> dict[str, object]:
    """Kill the cluster primary of the viewer's keys while one client validates and another logs sessions out."""
    tokens = [_log_in(api, VIEWER_EMAIL)["headers"] for _ in range(sessions)]
    answers: list[tuple[float, int]] = []
    stop = threading.Event()

    def validate() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                status = client.get(f"{api}/auth_token/validation", headers=viewer["headers"]).status_code
                answers.append((time.monotonic(), status))

    def log_out() -> None:
        with httpx.Client(timeout=10) as client:
            for headers in tokens:
                if stop.is_set():
                    return
                answers.append((time.monotonic(), client.delete(f"{api}/auth_token", headers=headers).status_code))
                time.sleep(0.05)

    threads = [threading.Thread(target=target) for target in (validate, log_out)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    slot_key = redis_keys.user_token_epoch(viewer["uuid"])
    port = redis.RedisCluster(host="127.0.0.1", port=CLUSTER_FIRST_PORT).get_node_from_key(slot_key).port
    killed_at = time.monotonic()
    cluster.kill(port)
    cluster.wait_until_healthy(replicated=False)
    promoted_after = time.monotonic() - killed_at
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    next(server for server in cluster.servers if server.port == port).start()
    served = sorted(at for at, status in answers if status < 500)
    statuses: dict[int, int] = {}
    for _, status in answers:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "requests": len(answers),
        "statuses": statuses,
        "errors": sum(count for status, count in statuses.items() if status >= 500 and status != 503),
        "refused": statuses.get(503, 0),
        "longest_gap_s": max((later - earlier for earlier, later in itertools.pairwise(served)), default=0.0),
        "promotion_s": promoted_after,
    }


def _report_cluster(table: dict[str, dict[str, Row]], failover: dict[str, object]) -> None:
    single, cluster, no_wait = table["one Redis"], table["cluster"], table["cluster, no WAIT"]
    width = max(len(name) for name in single)
    print(f"\n{'row':<{width}}  {'one Redis req/s':>15}  {'p99 ms':>7}  {'cluster req/s':>13}  {'p99 ms':>7}  "
          f"{'x one':>6}")  # fmt: skip
    for name, row in single.items():
        other = cluster[name]
        print(f"{name:<{width}}  {row.requests_per_second:>15.0f}  {row.p99_ms:>7.2f}  "
              f"{other.requests_per_second:>13.0f}  {other.p99_ms:>7.2f}  "
              f"{other.requests_per_second / row.requests_per_second:>6.2f}")  # fmt: skip
    revoke, bare = cluster["sign out other devices (one at a time)"], no_wait["sign out other devices (one at a time)"]
    print(f"\nsign out other devices on the cluster: p50 {revoke.p50_ms:.2f} ms with WAIT 1, {bare.p50_ms:.2f} ms "
          f"without ({revoke.requests_per_second / bare.requests_per_second:.2f}x the throughput)")  # fmt: skip
    print(
        f"failover: {failover['requests']} requests, statuses {failover['statuses']}: {failover['errors']} errors "
        f"(5xx but 503), {failover['refused']} refused with 503 while the slot had no primary; replica promoted "
        f"after {failover['promotion_s']:.2f} s, longest gap between answers {failover['longest_gap_s']:.2f} s"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"cluster-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    rows = {label: {name: asdict(row) for name, row in rows.items()} for label, rows in table.items()}
    path.write_text(json.dumps({"machine": _machine(), "rows": rows, "failover": failover}, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(REPO)}")


def _validation_during_logins(wrk: Wrk, api: str, viewer: dict) -> Row:
    """Token validation while two clients log in without pause: a login holds a sync worker for one hash."""
    credentials = json.dumps({"email": VIEWER_EMAIL, "password": PASSWORD})
    with ThreadPoolExecutor(1) as pool:
        logins = pool.submit(wrk.run, "logins", f"{api}/auth_token", method="POST", body=credentials,
                             headers={"Content-Type": "application/json"}, connections=2)  # fmt: skip
        row = wrk.run("token validation during logins", f"{api}/auth_token/validation", headers=viewer["headers"])
        logins.result()
    return row


def validation_during_password_guessing(wrk: Wrk, api: str, viewer: dict) -> Row:
    """Token validation while 16 clients guess the viewer's old password without pause, each guess a hash.

    Run with PASSWORD_HASHING_CONCURRENCY and PASSWORD_HASHING_QUEUE set high to see it without the bound.
    """
    guess = json.dumps({"old_password": "not the password", "new_password": "a brand new passphrase"})
    headers = {"Content-Type": "application/json", **viewer["headers"]}
    with ThreadPoolExecutor(1) as pool:
        guesses = pool.submit(wrk.run, "password guesses", f"{api}/users/{viewer['uuid']}/password", method="POST",
                              body=guess, headers=headers, connections=16)  # fmt: skip
        row = wrk.run("token validation during password guessing", f"{api}/auth_token/validation",
                      headers=viewer["headers"])  # fmt: skip
        guesses.result()
    return row


def median_row(name: str, rows: list[Row]) -> Row:
    """One row from several runs of it: the median of each figure, and every error."""
    return Row(
        name,
        statistics.median(row.requests_per_second for row in rows),
        statistics.median(row.p50_ms for row in rows),
        statistics.median(row.p99_ms for row in rows),
        sum(row.errors for row in rows),
        connections=rows[0].connections,
    )


def reference_row(references: list[Row], label: str) -> Row:
    """A reference as the table shows it: the median of its measurements in this run."""
    row = median_row(f"reference: {label} (median of {len(references)})", references)
    row.reference_rps = row.requests_per_second
    return row


def _subscriber_and_superuser(api: str) -> tuple[dict, dict]:
    """Register the viewer, log both the viewer and the superuser in, and make the viewer a subscriber."""
    httpx.post(f"{api}/users", json={"email": VIEWER_EMAIL, "password": PASSWORD}, timeout=SETUP_TIMEOUT
               ).raise_for_status()  # fmt: skip
    viewer, root = _log_in(api, VIEWER_EMAIL), _log_in(api, ROOT_EMAIL)
    httpx.post(f"{api}/users/{viewer['uuid']}/roles", json={"name": "subscriber"}, headers=root["headers"],
               timeout=SETUP_TIMEOUT).raise_for_status()  # fmt: skip
    return viewer, root


def _log_in(api: str, email: str) -> dict:
    response = httpx.post(f"{api}/auth_token", json={"email": email, "password": PASSWORD}, timeout=SETUP_TIMEOUT)
    response.raise_for_status()
    token = response.json()["access_token"]
    return {"uuid": _subject(token), "headers": {"Authorization": f"Bearer {token}"}}


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def targets(
    rows: list[Row], scaled: list[Row], hash_ms: float, bytes_per_session_record: float | None,
    memory: dict[str, float] | None = None,
) -> list[Target]:  # fmt: skip
    """The issue's targets, each measured against a baseline from this same run."""
    row = {row.name: row for row in rows}
    checks = []
    if validation := row.get("token validation"):
        checks += [
            Target.at_least("token validation req/s / reference req/s", validation.ratio, 0.8),
            Target.at_most(
                "token validation p99 / reference p99", validation.p99_ms / validation.reference_p99_ms, 1.5
            ),
            Target.at_least(
                "permission validation (warm) req/s / reference", row["permission validation (warm)"].ratio, 0.7
            ),
            Target.at_most("login time / one argon2id hash", row["login (one at a time)"].p50_ms / hash_ms, 1.15),
        ]
    checks += [
        Target.at_least(f"{check}: {OBSERVED} / off, req/s", row[f"{check}, {OBSERVED}"].ratio, 0.95)
        for check in ("token validation", "permission validation (warm)")
        if f"{check}, {OBSERVED}" in row
    ]
    checks += movies_targets(row)
    for at_scale in scaled:
        unscaled = row[at_scale.name.removesuffix(" @ scale")]
        # Rows at full concurrency compare throughput; one-at-a-time rows compare their median latency.
        if at_scale.connections == 1:
            slower = at_scale.p50_ms / unscaled.p50_ms - 1
        else:
            slower = 1 - at_scale.requests_per_second / unscaled.requests_per_second
        checks.append(Target.at_most(f"{at_scale.name}: slower than unscaled by", slower, 0.10))
    if bytes_per_session_record is not None:
        checks.append(Target.at_most("Redis bytes per session record @ scale", bytes_per_session_record, 300))
    checks += session_memory_targets(memory or {})
    return checks


def movies_targets(row: dict[str, Row]) -> list[Target]:
    """The film list's targets, against the constant film page measured beside it."""
    anonymous, subscriber = row[f"{MOVIES_FILM_LIST}, anonymous"], row[f"{MOVIES_FILM_LIST}, subscriber"]
    stopped = row[f"{MOVIES_FILM_LIST}, subscriber, auth stopped"]
    return [
        Target.at_least("film list, anonymous req/s / film page reference", anonymous.ratio, 0.6),
        Target.at_least("film list, subscriber req/s / film page reference", subscriber.ratio, 0.5),
        Target.at_most("film list, anonymous p99 / reference p99", anonymous.p99_ms / anonymous.reference_p99_ms, 2),
        Target.at_most("film list, subscriber p99 / reference p99", subscriber.p99_ms / subscriber.reference_p99_ms, 2),
        Target.at_most("film list p99: auth stopped / auth healthy", stopped.p99_ms / subscriber.p99_ms, 1.2),
    ]


def session_memory_targets(memory: dict[str, float]) -> list[Target]:
    """The issue's bounds on what Redis keeps per session."""
    if not memory:
        return []
    return [
        Target.at_most("Redis bytes per live session", memory["live"], 300),
        Target.at_most("Redis bytes per ended session", memory["ended"], 120),
    ]


def report(references: list[Row], rows: list[Row], scaled: list[Row], hash_ms: float,
           bytes_per_session_record: float | None, signatures: dict[str, dict[str, float]], options: argparse.Namespace,
           memory: dict[str, float] | None = None) -> None:  # fmt: skip
    """Print the table and the targets; write them, with the run's conditions, as JSON and a PNG chart."""
    checks = targets(rows, scaled, hash_ms, bytes_per_session_record, memory)
    rows = [*references, *rows]
    width = max(len(row.name) for row in rows + scaled)
    print(f"\n{'row':<{width}}  {'conns':>5}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  {'x ref':>6}"
          f"  {'p99 x ref':>9}")  # fmt: skip
    for row in rows + scaled:
        ratio = f"{row.ratio:>6.2f}" if row.ratio is not None else f"{'':>6}"
        p99_ratio = f"{row.p99_ratio:>9.2f}" if row.p99_ratio is not None else ""
        print(f"{row.name:<{width}}  {row.connections:>5}  {row.requests_per_second:>9.0f}  {row.p50_ms:>8.2f}  "
              f"{row.p99_ms:>8.2f}  {row.errors:>6}  {ratio}  {p99_ratio:>9}  {row.note}")  # fmt: skip
    print(f"(x ref of a row '..., {OBSERVED}': against the same check with {UNOBSERVED}, measured in turn)")
    print(f"\none argon2id hash at the configured parameters: {hash_ms:.1f} ms")
    signing.print_table(signatures)
    if bytes_per_session_record is not None:
        print(f"Redis memory per session record @ scale: {bytes_per_session_record:.0f} bytes")
    for state, size in (memory or {}).items():
        print(f"Redis memory per session, {state}: {size:.0f} bytes")
    print("\ntargets:")
    for check in checks:
        print(f"  {'met   ' if check.met else 'MISSED'}  {check.name}: {check.measured:.2f}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = _machine()
    result = {
        "time": stamp,
        "machine": machine,
        "wrk": {"duration_s": options.duration, "connections": options.connections, "threads": options.threads},
        "argon2id_hash_ms": hash_ms,
        "redis_bytes_per_session_record": bytes_per_session_record,
        "redis_bytes_per_session": memory,
        "token_signatures": signatures,
        "rows": [asdict(row) | {"ratio": row.ratio, "p99_ratio": row.p99_ratio} for row in rows + scaled],
        "targets": [asdict(check) for check in checks],
    }
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    chart(rows + scaled, RESULTS / f"{stamp}.png", machine)
    print(f"\nwritten to {path.relative_to(REPO)} and {path.with_suffix('.png').relative_to(REPO)}")


def chart(rows: list[Row], path: Path, machine: dict) -> None:
    """A bar chart of each row's req/s against the reference's, with the targets marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    compared = [row for row in rows if row.ratio is not None]
    figure, axes = pyplot.subplots(figsize=(9, 0.45 * len(compared) + 1.5))
    names = [row.name for row in compared][::-1]
    ratios = [row.ratio for row in compared][::-1]
    bars = axes.barh(names, ratios, color="#4878a8")
    axes.bar_label(bars, labels=[f"{row.requests_per_second:.0f} req/s" for row in compared][::-1], padding=3)
    for limit, label in ((0.8, "token validation target"), (0.7, "permission validation target")):
        axes.axvline(limit, linestyle="--", color="#c44e52" if limit == 0.8 else "#dd8452", label=label)
    axes.set_xlabel("req/s as a fraction of the constant-JSON reference (same run, same gunicorn settings)")
    axes.set_xlim(0, max([1.0, *ratios]) * 1.3)
    axes.set_title(f"make bench, {machine['cpus']} CPUs: {machine['processor']}", fontsize=9)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "processor": _processor(), "system": platform.platform()}


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
