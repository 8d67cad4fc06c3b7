"""Where a movies API request spends its time: the app driven in-process (no server, no sockets to the client)
under cProfile (CPU time), cache warm, for the rows `make bench` measures.

    DATABASE_URL=... REDIS_URL=... python bench/profile_movies.py [--requests 3000] [--top 30]

movies_auth is played by the test suite's stub, publishing the key the subscriber's token is signed with (the
token is then verified and movies_auth's answer cached as in production);
log lines go to /dev/null through the service's own logging set-up. Without DATABASE_URL, a demo catalogue
is made in a scratch SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "movies_async_api" / "tests"))

from movies_async_api.settings import Settings  # noqa: E402
from movies_support import StubAuth  # noqa: E402 (the test suite's stand-in for movies_auth)

from movies_async_api import create_app  # noqa: E402


def signed_token(stub: StubAuth) -> str:
    """A subscriber's token signed with a key the stub publishes, so the API verifies it as in production."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    stub.jwks = {"keys": [{**public, "kid": "profile", "alg": "RS256", "use": "sig"}]}
    claims = {"sub": str(uuid.uuid4()), "type": "access", "exp": int(time.time()) + 3600, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "profile"})


async def request(app, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One GET through the whole ASGI app; (status, body)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


async def profile(app, name: str, path: str, query: str, headers, count: int, top: int) -> None:
    for _ in range(200):
        status, _body = await request(app, path, query, headers)
    if status != 200:
        sys.exit(f"{name}: {status} {_body!r}")
    # CPU time, not wall time: on a shared machine, time spent waiting for a CPU would count as work.
    profiler = cProfile.Profile(time.process_time)
    started = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        await request(app, path, query, headers)
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    print(f"\n=== {name}: {elapsed / count * 1e6:.0f} us per request (wall) under the profiler ({count} requests)")
    print("    CPU us/request while running; a part's figure includes what it calls")
    for component, functions in COMPONENTS:
        seconds = sum(cumulative(stats, where, function) for where, function in functions)
        print(f"    {seconds / count * 1e6:8.1f}  {component}")
    if top:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print(out.getvalue().split("\n", 6)[-1])


# (what, [(file path ending, function name), ...]): each a part of a request, by the functions that do it.
COMPONENTS = [
    ("whole request (the ASGI app)", [("starlette/applications.py", "__call__")]),
    ("request-context middleware, all it wraps", [("movies_async_api/request_context.py", "__call__")]),
    ("  access-log line", [("logging/__init__.py", "info")]),
    ("  request id made up", [("uuid.py", "uuid4")]),
    ("  fast path (held answers)", [("movies_async_api/fast_path.py", "__call__")]),
    ("  dependency resolution, all it wraps", [("fastapi/dependencies/utils.py", "solve_dependencies")]),
    ("    thread-pool hops for sync dependencies", [("starlette/concurrency.py", "run_in_threadpool")]),
    ("    query-parameter validation", [("fastapi/dependencies/utils.py", "request_params_to_args")]),
    ("    who the caller is (auth path)", [("movies_async_api/api/deps.py", "current_caller")]),
    ("  the route, all it wraps", [("fastapi/routing.py", "run_endpoint_function")]),
    ("    response cache read (Redis)", [("movies_async_api/cache.py", "get")]),
    ("    cache key from validated parameters", [("movies_async_api/redis_keys.py", "response")]),
    ("  response sent", [("starlette/responses.py", "__call__")]),
]


def cumulative(stats: pstats.Stats, where: str, function: str) -> float:
    """Seconds spent in `function` of a file ending in `where`, and in what it called."""
    return sum(row[3] for (path, _line, name), row in stats.stats.items() if name == function and path.endswith(where))


async def main(options: argparse.Namespace) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="movies-profile-"))
    database_url = os.environ.get("DATABASE_URL")
    env = {**os.environ, "INSTANCE_PATH": str(scratch)}
    subprocess.run([str(Path(sys.executable).with_name("movies-api")), "demo", "--films", "1000"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    stub = StubAuth()
    token = signed_token(stub)
    sys.stderr = open(os.devnull, "w")
    settings = Settings(
        _env_file=None, app_env="testing", instance_path=scratch, database_url=database_url,
        redis_url=os.environ.get("REDIS_URL"), auth_service_url=stub.url, auth_service_secret="profile",  # noqa: S106 (the stub takes any)
        log_level="INFO",
    )  # fmt: skip
    app = create_app(settings)
    subscriber = [(b"authorization", f"Bearer {token}".encode())]
    try:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0.2)  # the background tasks settle
            films = "/api/v1/films"
            page = "page_size=50&sort=-imdb_rating"
            first = json.loads((await request(app, films, page, []))[1])[0]["uuid"]
            cases = [
                ("film list, anonymous", films, page, []),
                ("film list, subscriber", films, page, subscriber),
                ("search, subscriber", f"{films}/search", "query=empire", subscriber),
                ("film detail, subscriber", f"{films}/{first}", "", subscriber),
            ]
            for name, path, query, headers in cases:
                await profile(app, name, path, query, headers, options.requests, options.top)
    finally:
        stub.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="then the N functions with most own time")
    asyncio.run(main(parser.parse_args()))
