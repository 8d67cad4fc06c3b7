"""`--cluster`: the hot auth rows on one Redis and on a Redis Cluster, then a primary killed mid-run."""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import redis
from movies_auth.stores import redis_keys

from loadtest.common import CLUSTER_FIRST_PORT, PASSWORD, REPO, RESULTS, VIEWER_EMAIL
from loadtest.report import machine_description
from loadtest.rows import Row, median_row
from loadtest.services import gunicorn, log_in, subscriber_and_superuser
from loadtest.wrk import Wrk, refresh_chain_script
from testkit.processes import Process
from testkit.redis_servers import RedisClusterServers


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
            subscriber_and_superuser(f"{auth[1]}/auth/api/v1")
        with servers["one Redis"][0], servers["cluster"][0], servers["cluster, no WAIT"][0]:
            apis = {label: f"{url}/auth/api/v1" for label, (_, url) in servers.items()}
            viewers = {label: log_in(api, VIEWER_EMAIL) for label, api in apis.items()}
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
    tokens = [log_in(api, VIEWER_EMAIL)["headers"] for _ in range(sessions)]
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
    path.write_text(json.dumps({"machine": machine_description(), "rows": rows, "failover": failover}, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(REPO)}")
