"""The token, revocation, permission-cache, rate-limit, social sign-in and catalogue suites, run again on a Redis
Cluster and on Redis Sentinel: the same tests, the same answers, whatever Redis deployment REDIS_URL names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from testkit.stores import fresh_database

AUTH_SUITES = ("test_tokens.py", "test_sessions.py", "test_permission_checks.py", "test_fast_path.py",
               "test_rate_limits.py", "test_social_sign_in.py")  # fmt: skip
MOVIES_SUITES = ("test_films_api.py", "test_visibility.py")
# The suites check answers, not replication latency: on a loaded CI machine a replica can take longer than the
# production 0.2 s to acknowledge a revocation, and the 503 that follows is test_failover's subject, not theirs.
PATIENT_REPLICAS = {"REDIS_REPLICA_ACK_TIMEOUT": "3", "REDIS_SOCKET_TIMEOUT": "5"}


def run_suite(
    directory: Path, files: tuple[str, ...], database_url: str, redis_url: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files],
        cwd=directory, env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **PATIENT_REPLICAS},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
@pytest.mark.parametrize(
    ("directory", "files"),
    [(REPO / "movies_auth" / "tests", AUTH_SUITES), (REPO / "movies_async_api" / "tests", MOVIES_SUITES)],
    ids=["movies_auth", "movies_async_api"],
)
def test_suites_pass(
    request: pytest.FixtureRequest, database_url: str, topology: str, directory: Path, files: tuple[str, ...]
) -> None:
    servers = request.getfixturevalue(f"redis_{topology}")
    redis_url = servers.url if topology == "cluster" else servers.url(14)
    # A database of its own: the suites empty theirs, and the other HA tests run on the same server.
    database = fresh_database(database_url, f"{database_url.rsplit('/', 1)[1]}_ha_suites")
    failovers = servers.failovers() if topology == "sentinel" else 0
    done = run_suite(directory, files, database, redis_url)
    # A failover the suites did not ask for (a server stalled past Sentinel's down-after) explains a failure.
    unasked = servers.failovers() - failovers if topology == "sentinel" else 0
    assert done.returncode == 0, f"{unasked} failover(s) during the run\n" + done.stdout[-6000:] + done.stderr[-3000:]
