"""The deployment as the images run it: helpers the deployment tests share (nginx rendering, certificates,
the whole platform behind nginx) and the tools they need."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from testkit.ports import free_port
from testkit.processes import Process, require
from testkit.stores import fresh_database, fresh_redis

REPO = Path(__file__).resolve().parents[1]
NGINX = REPO / "nginx"
VENV_BIN = Path(sys.executable).parent
PRACTICUM_DUMP = REPO / "movies_async_api" / "tests" / "data" / "practicum_movies.sql"
ROOT_EMAIL, ROOT_PASSWORD = "root@example.com", "root password 123"


def render_nginx(directory: Path, **variables: str) -> subprocess.CompletedProcess:
    """Run nginx/render into `directory` with exactly these NGINX_* variables set."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("NGINX_")}
    return subprocess.run(
        [str(NGINX / "render"), str(directory)], env=env | variables, capture_output=True, text=True, check=False
    )


def make_certificate(directory: Path) -> Path:
    """A self-signed pair made by the script `make certs` runs; returns the certificate."""
    require("openssl")
    subprocess.run([str(NGINX / "make-certs"), str(directory)], check=True, capture_output=True)
    return directory / "cert.pem"


def nginx_variables(mode: str, cert_dir: Path, http_port: int, https_port: int, auth: str, movies: str) -> dict:
    """The NGINX_* environment of a bare-machine nginx in front of the two services."""
    return {
        "NGINX_MODE": mode,
        "NGINX_SERVER_NAME": "_",
        "NGINX_HTTP_PORT": str(http_port),
        "NGINX_HTTPS_PORT": str(https_port),
        "NGINX_AUTH_UPSTREAM": auth,
        "NGINX_MOVIES_API_UPSTREAM": movies,
        "NGINX_TLS_CERTIFICATE": str(cert_dir / "cert.pem"),
        "NGINX_TLS_CERTIFICATE_KEY": str(cert_dir / "key.pem"),
    }


def world_readable_directory() -> Path:
    """A fresh directory nginx's unprivileged workers can enter (pytest's tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="movies-e2e-"))
    path.chmod(0o755)
    return path


@dataclass
class Platform:
    """nginx in front of movies_auth and the movies API, as deployed; tests talk to `url` only."""

    url: str
    http_url: str
    tls: ssl.SSLContext
    nginx: Process
    auth: Process
    movies: Process
    auth_env: dict[str, str]

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls, timeout=30, **kwargs)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """An operator's `flask --app movies_auth ...` against the deployed auth service's stores."""
        return subprocess.run(
            [str(VENV_BIN / "flask"), *args], env=self.auth_env, capture_output=True, text=True, timeout=120
        )


@contextmanager
def running_platform(
    work: Path, name: str, *, redis_offsets: tuple[int, int], env: dict[str, str] | None = None
) -> Iterator[Platform]:
    """The platform on fresh stores: databases named after `name`, the Redis databases `redis_offsets` (auth, movies)
    past REDIS_URL's, and `env` added to both services' environments."""
    nginx_binary = require("nginx")
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgresql") or not redis_url.startswith("redis"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the production shape on real PostgreSQL and Redis")
        pytest.skip("the production shape needs real PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")

    base = urlsplit(database_url).path.strip("/")
    prefix = world_readable_directory()
    cert = make_certificate(prefix / "certs")
    ports = {name: free_port() for name in ("auth", "movies", "http", "https")}
    path = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"
    # As in compose: movies_auth registers the movies API's account from this variable at every start.
    service_secret = secrets.token_urlsafe(32)

    auth_env = (
        os.environ
        | {
            "PATH": path,
            "APP_ENV": "production",
            "FLASK_APP": "movies_auth",
            "INSTANCE_PATH": str(work / "auth-instance"),
            "DATABASE_URL": fresh_database(database_url, f"{base}_{name}_auth"),
            "REDIS_URL": fresh_redis(redis_url, redis_offsets[0]),
            "JWT_KEYS_DIR": str(work / "auth-keys"),
            "SERVICE_SECRET_MOVIES_API": service_secret,
            "TRUSTED_PROXIES": "1",
            "GUNICORN_BIND": f"127.0.0.1:{ports['auth']}",
            "GUNICORN_WORKERS": "2",
        }
        | (env or {})
    )
    movies_env = (
        os.environ
        | {
            "PATH": path,
            "APP_ENV": "production",
            "INSTANCE_PATH": str(work / "movies-instance"),
            "DATABASE_URL": fresh_database(database_url, f"{base}_{name}_movies"),
            "REDIS_URL": fresh_redis(redis_url, redis_offsets[1]),
            "AUTH_SERVICE_URL": f"http://127.0.0.1:{ports['auth']}",
            "AUTH_SERVICE_SECRET": service_secret,
            "GUNICORN_BIND": f"127.0.0.1:{ports['movies']}",
            "GUNICORN_WORKERS": "2",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        | (env or {})
    )
    # The catalogue is loaded the way docs/production.md tells an operator to.
    practicum = work / "practicum_movies.sqlite"
    with closing(sqlite3.connect(practicum)) as source:
        source.executescript(PRACTICUM_DUMP.read_text())
    subprocess.run([str(VENV_BIN / "movies-api"), "load-sqlite", str(practicum)], env=movies_env, check=True,
                   capture_output=True)  # fmt: skip

    rendered = render_nginx(
        prefix,
        **nginx_variables("production", prefix / "certs", ports["http"], ports["https"],
                          f"127.0.0.1:{ports['auth']}", f"127.0.0.1:{ports['movies']}"),
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr

    auth = Process(
        "movies_auth",
        ["./docker-entrypoint.sh", "gunicorn", "-c", "gunicorn.conf.py", "movies_auth.wsgi:app"],
        REPO / "movies_auth", auth_env, work / "auth.log", f"http://127.0.0.1:{ports['auth']}/auth/healthz",
    )  # fmt: skip
    movies = Process(
        "movies API",
        ["./docker-entrypoint.sh", "gunicorn", "-c", "gunicorn.conf.py", "movies_async_api.main:app"],
        REPO / "movies_async_api", movies_env, work / "movies.log", f"http://127.0.0.1:{ports['movies']}/api/healthz",
    )  # fmt: skip
    nginx = Process(
        "nginx",
        [nginx_binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        prefix, dict(os.environ), work / "nginx.log", f"http://127.0.0.1:{ports['http']}/nginx/health",
    )  # fmt: skip
    started: list[Process] = []
    try:
        for process in (auth, movies, nginx):
            process.start()
            started.append(process)
        platform = Platform(
            url=f"https://127.0.0.1:{ports['https']}",
            http_url=f"http://127.0.0.1:{ports['http']}",
            tls=ssl.create_default_context(cafile=str(cert)),
            nginx=nginx,
            auth=auth,
            movies=movies,
            auth_env=auth_env,
        )
        created = platform.flask("superuser", "create", "--email", ROOT_EMAIL, "--password", ROOT_PASSWORD,
                                 "--first-name", "Root", "--last-name", "User")  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield platform
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(prefix, ignore_errors=True)
