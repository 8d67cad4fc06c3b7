"""`make bench`: movies_auth and the movies API under their production gunicorn settings, on real PostgreSQL and
Redis, driven by wrk at fixed concurrency, each row reported as a ratio to a constant-JSON Flask app measured in
the same run under the identical gunicorn settings.

    python bench/run.py [--duration 10] [--connections 32] [--threads 2]

DATABASE_URL (a server the benchmark may create databases on) and REDIS_URL (a database it may wipe, and the
next one) say where; the results go to bench/results/<time>.json as well as to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import psycopg
import redis
from argon2 import PasswordHasher

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
PASSWORD = "benchmark password 1"
ROOT_EMAIL = "bench-root@example.com"


@dataclass
class Row:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio: float = 0.0  # req/s against the reference's


class Server:
    """A server process started with a command, stopped with its whole process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], ready_url: str, log: Path) -> None:
        self.name, self.command, self.env, self.ready_url, self.log = name, command, env, ready_url, log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        sys.exit(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


class Wrk:
    """wrk at one fixed concurrency for every row, so rows compare."""

    def __init__(self, duration: int, connections: int, threads: int, scratch: Path) -> None:
        self.binary = shutil.which("wrk") or sys.exit("wrk is not installed (Debian package wrk)")
        self.duration, self.connections, self.threads, self.scratch = duration, connections, threads, scratch

    def run(
        self, name: str, url: str, *, method: str = "GET", headers: dict | None = None, body: str = "",
        connections: int | None = None,
    ) -> Row:  # fmt: skip
        """Warm the server up (every worker started, every cache filled), then measure."""
        script = self.scratch / f"{uuid.uuid4().hex}.lua"
        lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body)}"]
        lines += [f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in (headers or {}).items()]
        script.write_text("\n".join(lines) + "\n")
        connections = connections or self.connections
        threads = min(self.threads, connections)
        outputs = []
        for seconds in (2, self.duration):
            command = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                       "--latency", "-s", str(script), url]  # fmt: skip
            outputs.append(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        return Row(name, *parse_wrk(outputs[-1]))


def gunicorn_server(
    name: str, config: str, app: str, env: dict[str, str], port: int, health: str, scratch: Path, *options: str
) -> Server:
    """`app` under gunicorn with the config file production uses, on a loopback port."""
    command = [str(BIN / "gunicorn"), "-c", config, *options, app]
    env = env | {"GUNICORN_BIND": f"127.0.0.1:{port}"}
    return Server(name, command, env, f"http://127.0.0.1:{port}{health}", scratch / f"{port}.log")


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


def fresh_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_redis(url: str, offset: int) -> str:
    parts = urlsplit(url)
    database = urlunsplit(parts._replace(path=f"/{(int(parts.path.strip('/') or 0) + offset) % 16}"))
    redis.Redis.from_url(database).flushdb()
    return database


def argon2_hash_ms(env: dict[str, str]) -> float:
    """The median time of one argon2id hash at the parameters movies_auth is configured with."""
    from movies_auth.settings import Settings

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items() if k.startswith("ARGON2_")})
    hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        hasher.hash(PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()

    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgresql") or not redis_url.startswith("redis"):
        sys.exit("make bench needs real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    scratch = Path(tempfile.mkdtemp(prefix="movies-bench-"))
    wrk = Wrk(options.duration, options.connections, options.threads, scratch)
    ports = iter(range(18500, 18600))
    auth_config, movies_config = (
        str(REPO / "movies_auth/gunicorn.conf.py"),
        str(REPO / "movies_async_api/gunicorn.conf.py"),
    )

    auth_port, reference_port, movies_port = next(ports), next(ports), next(ports)
    auth_env = os.environ | {
        "APP_ENV": "production",
        "FLASK_APP": "movies_auth",
        "INSTANCE_PATH": str(scratch / "auth"),
        "DATABASE_URL": fresh_database(database_url, "movies_bench_auth"),
        "REDIS_URL": fresh_redis(redis_url, 1),
        "JWT_SECRET_KEY": uuid.uuid4().hex * 2,
        "RATE_LIMITS_ENABLED": "false",  # the login row measures logins, not the limiter's refusals
        "LOG_LEVEL": "WARNING",
    }
    movies_env = os.environ | {
        "APP_ENV": "production",
        "INSTANCE_PATH": str(scratch / "movies"),
        "DATABASE_URL": fresh_database(database_url, "movies_bench_movies"),
        "REDIS_URL": fresh_redis(redis_url, 0),
        "AUTH_SERVICE_URL": f"http://127.0.0.1:{auth_port}",
        "LOG_LEVEL": "WARNING",
    }
    superuser = ["--email", ROOT_EMAIL, "--password", PASSWORD, "--first-name", "Bench", "--last-name", "Root"]
    setup = [(["flask", "app", "init"], auth_env), (["flask", "superuser", "create", *superuser], auth_env),
             (["movies-api", "demo", "--films", "1000"], movies_env)]  # fmt: skip
    for command, env in setup:
        subprocess.run([str(BIN / command[0]), *command[1:]], env=env, check=True, capture_output=True)

    rows: list[Row] = []
    auth_url, movies_url = f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{movies_port}"
    api = f"{auth_url}/auth/api/v1"
    reference = gunicorn_server("reference", auth_config, "reference_app:app", auth_env, reference_port, "/reference",
                                scratch, "--pythonpath", str(REPO / "bench"))  # fmt: skip
    with reference:
        rows.append(wrk.run("reference: constant JSON", f"http://127.0.0.1:{reference_port}/reference"))

    auth = gunicorn_server("movies_auth", auth_config, "movies_auth.wsgi:app", auth_env, auth_port, "/auth/healthz",
                           scratch)  # fmt: skip
    movies = gunicorn_server("movies API", movies_config, "movies_async_api.main:app", movies_env, movies_port,
                             "/api/healthz", scratch)  # fmt: skip
    with auth, movies, httpx.Client(base_url=api, timeout=30) as client:
        email = "bench-viewer@example.com"
        user = client.post("/users", json={"email": email, "password": PASSWORD}).json()
        token = client.post("/auth_token", json={"email": email, "password": PASSWORD}).json()["access_token"]
        root = client.post("/auth_token", json={"email": ROOT_EMAIL, "password": PASSWORD}).json()["access_token"]
        client.post(
            f"/users/{user['uuid']}/roles", json={"name": "subscriber"}, headers={"Authorization": f"Bearer {root}"}
        )
        bearer = {"Authorization": f"Bearer {token}"}

        rows.append(wrk.run("/auth/healthz", f"{auth_url}/auth/healthz"))
        rows.append(wrk.run("token validation", f"{api}/auth_token/validation", headers=bearer))
        condition = quote(json.dumps({"any": ["pro_read"]}))
        check = f"{api}/users/{user['uuid']}/combined_permissions/validation?permissions={condition}"
        rows.append(wrk.run("permission validation (warm)", check, headers=bearer))
        # One login at a time: its latency is then the server's time per login, to set beside one hash.
        login_body = json.dumps({"email": email, "password": PASSWORD})
        rows.append(wrk.run("login (one at a time)", f"{api}/auth_token", method="POST", body=login_body,
                            headers={"Content-Type": "application/json"}, connections=1))  # fmt: skip

        films = f"{movies_url}/api/v1/films?page_size=50"
        rows.append(wrk.run("movies: film list, anonymous", films))
        rows.append(wrk.run("movies: film list, subscriber", films, headers=bearer))
        auth.stop()
        rows.append(wrk.run("movies: film list, subscriber, auth stopped", films, headers=bearer))

    hash_ms = argon2_hash_ms(auth_env)
    report(rows, hash_ms, options)
    shutil.rmtree(scratch, ignore_errors=True)


def report(rows: list[Row], hash_ms: float, options: argparse.Namespace) -> None:
    """Print the table and write it, with the run's conditions, as JSON under bench/results/."""
    baseline = rows[0].requests_per_second
    for row in rows:
        row.ratio = row.requests_per_second / baseline
    width = max(len(row.name) for row in rows)
    print(f"\n{'row':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  {'x ref':>6}")
    for row in rows:
        print(f"{row.name:<{width}}  {row.requests_per_second:>9.0f}  {row.p50_ms:>8.2f}  {row.p99_ms:>8.2f}  "
              f"{row.errors:>6}  {row.ratio:>6.2f}")  # fmt: skip
    login = next(row for row in rows if row.name.startswith("login"))
    print(f"\nlogin: {login.p50_ms:.1f} ms (p50, one at a time) against one argon2id hash: {hash_ms:.1f} ms "
          f"({login.p50_ms / hash_ms:.2f} x)")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "time": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
        "wrk": {"duration_s": options.duration, "connections": options.connections, "threads": options.threads},
        "argon2id_hash_ms": hash_ms,
        "rows": [asdict(row) for row in rows],
    }
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
