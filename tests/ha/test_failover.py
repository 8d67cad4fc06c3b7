"""A primary dies in the middle of a stream of logouts and token checks: every logout that answered 204 stays
revoked on the promoted replica, nothing answers 500, and the checks come back within a bounded gap."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask.testing import FlaskClient
from movies_auth.extensions import db
from movies_auth.stores import redis_keys
from movies_auth.stores.redis_connection import primary_of

from conftest import auth_app
from testkit.redis_servers import RedisClusterServers, RedisSentinelServers
from testkit.stores import fresh_database

API = "/auth/api/v1"
PASSWORD = "correct horse battery"
SESSIONS = 90
LONGEST_GAP = 20.0  # seconds: Sentinel's down-after (1 s) or the cluster's node timeout, an election, reconnects


@dataclass
class Stream:
    """What the logout and validation threads saw: (monotonic time, status) per call."""

    logouts: list[tuple[float, str, int]] = field(default_factory=list)
    answers: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def signed_in(tmp_path, database_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[FlaskClient, list[str]]]:
    """A user with SESSIONS live sessions on the Redis deployment under test: the client and the access tokens."""
    servers = request.getfixturevalue(request.param)
    redis_url = servers.url if isinstance(servers, RedisClusterServers) else servers.url(15)
    database = fresh_database(database_url, f"{database_url.rsplit('/', 1)[1]}_failover")
    app = auth_app(tmp_path, database, redis_url, max_sessions_per_user=SESSIONS)
    client = app.test_client()
    created = client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD})
    assert created.status_code == 201, created.json
    tokens = []
    for _ in range(SESSIONS):
        answer = client.post(f"{API}/auth_token", json={"email": "ada@example.com", "password": PASSWORD})
        assert answer.status_code == 200, answer.json
        tokens.append(answer.json["access_token"])
    app.extensions["failover_user"] = created.json["uuid"]
    yield client, tokens
    with app.app_context():
        db.engine.dispose()


def kill_and_recover(servers: RedisClusterServers | RedisSentinelServers, user_id: str, client: FlaskClient) -> None:
    """Kill the primary that holds the user's keys, wait for the promotion, and bring the dead one back as a replica."""
    if isinstance(servers, RedisSentinelServers):
        old = servers.kill_primary()
        servers.wait_for_new_primary(old)
        servers.restart_as_replica(old)
        return
    with client.application.app_context():
        port = primary_of(
            client.application.extensions["redis"], redis_keys.user_token_epoch(user_id)
        ).get_connection_kwargs()["port"]
    servers.kill(port)
    servers.wait_until_healthy(replicated=False)
    next(server for server in servers.servers if server.port == port).start()
    servers.wait_until_healthy()


def run_stream(client: FlaskClient, tokens: list[str], stream: Stream) -> list[threading.Thread]:
    def log_out() -> None:
        # A logout refused with 503 (no replica to acknowledge it) is asked again later, as a client would.
        waiting = collections.deque(tokens)
        while waiting and not stream.stop.is_set():
            token = waiting.popleft()
            status = client.delete(f"{API}/auth_token", headers={"Authorization": f"Bearer {token}"}).status_code
            stream.logouts.append((time.monotonic(), token, status))
            if status == 503:
                waiting.append(token)
            time.sleep(0.05)

    def validate() -> None:
        index = 0
        while not stream.stop.is_set():
            token = tokens[index % len(tokens)]
            status = client.get(
                f"{API}/auth_token/validation", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            stream.answers.append((time.monotonic(), status))
            index += 1

    threads = [threading.Thread(target=target) for target in (log_out, validate)]
    for thread in threads:
        thread.start()
    return threads


def longest_gap(answers: list[tuple[float, int]], good: Callable[[int], bool]) -> float:
    times = [at for at, status in answers if good(status)]
    return max((later - earlier for earlier, later in itertools.pairwise(times)), default=0.0)


@pytest.mark.parametrize("signed_in", ["redis_sentinel", "redis_cluster"], indirect=True)
def test_no_acknowledged_logout_is_lost_in_a_failover(signed_in, request: pytest.FixtureRequest, capsys) -> None:
    client, tokens = signed_in
    servers = request.getfixturevalue(request.node.callspec.params["signed_in"])
    stream = Stream()
    threads = run_stream(client, tokens, stream)
    time.sleep(1)
    kill_and_recover(servers, client.application.extensions["failover_user"], client)
    recovered_at = time.monotonic()
    time.sleep(2)
    stream.stop.set()
    for thread in threads:
        thread.join(timeout=30)

    statuses = {status for *_, status in stream.logouts} | {status for _, status in stream.answers}
    assert 500 not in statuses, statuses
    assert statuses <= {200, 204, 401, 503}, statuses
    acknowledged = [token for _, token, status in stream.logouts if status == 204]
    assert any(at > recovered_at and status == 204 for at, _, status in stream.logouts), "none after the failover"
    for token in acknowledged:
        answer = client.get(f"{API}/auth_token/validation", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, answer.json
    gap = longest_gap(stream.answers, lambda status: status != 503)
    refused = sum(status == 503 for *_, status in stream.answers + stream.logouts)
    with capsys.disabled():
        print(f"\n{request.node.name}: {len(stream.answers)} validations, {len(stream.logouts)} logouts "
              f"({len(acknowledged)} acknowledged), {refused} answered 503, longest gap {gap:.2f} s")  # fmt: skip
    assert gap < LONGEST_GAP
