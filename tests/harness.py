"""Servers and scratch stores, shared by the deployment tests and `make bench`: a process started the way
its container starts it, a free loopback port, a fresh PostgreSQL database, a wiped Redis database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis
from movies_auth.redis_connection import RedisDeployment


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call_json(url: str, method: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
    """One JSON request, as a client makes it: (status, decoded body), whatever the status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.request(method, url, json=body, headers=headers, timeout=10)
    return response.status_code, response.json() if response.content else None


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; its URL."""
    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_redis(url: str, offset: int) -> str:
    """The URL of the Redis database `offset` after the one `url` names, emptied (a cluster has one: all of it)."""
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        fresh = url
    elif parts.scheme == "redis+sentinel":  # redis+sentinel://host:port,.../<service>[/<db>]
        service, _, number = parts.path.strip("/").partition("/")
        fresh = urlunsplit(parts._replace(path=f"/{service}/{(int(number or 0) + offset) % 16}"))
    else:
        number = (int(parts.path.strip("/") or 0) + offset) % 16
        fresh = urlunsplit(parts._replace(path=f"/{number}"))
    RedisDeployment(fresh, {}).client().flushdb()
    return fresh


@dataclass
class Process:
    """One server, started with a command and stopped with its whole process group; output in a log file."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log: Path
    ready_url: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, timeout: float = 90) -> None:
        """Start it and wait until `ready_url` answers 200."""
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM to the process group, then wait for it."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def output(self) -> str:
        """Everything it has written so far."""
        return self.log.read_text()

    def __enter__(self) -> Process:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL's tools refuse to run as root; CI runs as root.
    return [_tool("runuser"), "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed")
    return path


@dataclass
class RedisServer:
    """A Redis of our own on a free port, persisting as production's does, that a test may stop, start or pause."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = field(default=None, repr=False)
    # Further redis-server options, e.g. ("--maxmemory-policy", "allkeys-lru"); later ones win.
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, with what it had written) and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [_tool("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Shut it down; connections to it are refused from now on."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def pause(self, seconds: float) -> None:
        """CLIENT PAUSE: every client's commands stall for `seconds`, connections stay open."""
        redis.Redis(port=self.port).execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")


@dataclass
class PostgresServer:
    """A PostgreSQL cluster of our own (initdb in a scratch directory) that a test may stop and start."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def binary(name: str) -> str:
        """A server tool of the newest PostgreSQL installed (they are not on PATH on Debian)."""
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda path: int(path.parts[4]))
        if not found:
            raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
        return str(found[-1])

    def create(self) -> None:
        """initdb a cluster that trusts local connections."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run(
            _as_postgres_user([self.binary("initdb"), "-D", str(self.directory / "data"), "-A", "trust",
                               "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def copy_as_replica_of(self, primary: PostgresServer) -> None:
        """pg_basebackup the running `primary` into this server's directory, set up to stream from it (-R)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run(
            _as_postgres_user([self.binary("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                               "-U", "postgres", "-D", str(self.directory / "data"), "-R", "-X", "stream"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres_user([self.binary("pg_ctl"), "-D", str(self.directory / "data"), *args]),
                       check=True, capture_output=True)  # fmt: skip

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.directory / "server.log"), "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut, new connections refused."""
        self._ctl("-m", "fast", "-w", "stop")

    def terminate_connections(self, database: str) -> int:
        """pg_terminate_backend on every other session of `database`; how many were cut."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
        return row[0]


@dataclass
class RedisClusterServers:
    """A Redis Cluster of our own on loopback: primaries with a replica each, on ports from `first_port` on."""

    directory: Path
    first_port: int
    primaries: int = 3
    servers: list[RedisServer] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{server.port}" for server in self.servers[:3])

    def start(self) -> None:
        """Start every node, join them into a cluster and wait until every slot is served."""
        for offset in range(2 * self.primaries):
            port = self.first_port + offset
            server = RedisServer(self.directory / str(port), port=port, options=(
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                "--cluster-replica-validity-factor", "0", "--appendfsync", "everysec",
            ))  # fmt: skip
            server.start()
            self.servers.append(server)
        subprocess.run(
            [_tool("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{server.port}" for server in self.servers),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.wait_until_healthy()

    def wait_until_healthy(self, timeout: float = 60, *, replicated: bool = True) -> None:
        """Wait until every running node says the cluster is ok and sees a primary for each shard (and, when
        `replicated`, each primary has an online replica)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = set()
            for server in self.running():
                try:
                    states.add(redis.Redis(port=server.port, socket_timeout=1).cluster("info")["cluster_state"])
                except redis.RedisError:
                    states.add("unreachable")
            primaries = self.primary_ports()
            if (
                states == {"ok"}
                and len(primaries) == self.primaries
                and (not replicated or all(has_online_replica(port) for port in primaries))
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not become healthy")

    def running(self) -> list[RedisServer]:
        return [server for server in self.servers if server.process and server.process.poll() is None]

    def primary_ports(self) -> list[int]:
        """The ports of the running primaries, as the running nodes see them."""
        ports = set()
        for server in self.running():
            try:
                nodes = redis.Redis(port=server.port, socket_timeout=1, decode_responses=True).cluster("nodes")
            except redis.RedisError:
                continue
            for address, node in nodes.items():
                if "master" in node["flags"] and "fail" not in node["flags"] and node["slots"]:
                    ports.add(int(address.split("@")[0].rpartition(":")[2]))
            break
        return sorted(ports & {server.port for server in self.running()})

    def kill(self, port: int) -> None:
        """Kill a node at once (SIGKILL), as a crashed machine would go."""
        server = next(server for server in self.servers if server.port == port)
        server.process.kill()
        server.process.wait(timeout=10)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def has_online_replica(port: int) -> bool:
    """Whether the Redis on `port` has a replica that has finished its first sync."""
    try:
        info = redis.Redis(port=port, socket_timeout=1).info("replication")
    except redis.RedisError:
        return False
    return any(isinstance(value, dict) and value.get("state") == "online" for value in info.values())


SENTINEL_SERVICE = "mymaster"


@dataclass
class RedisSentinelServers:
    """A primary, one replica and three Sentinels of our own on loopback, on ports from `first_port`."""

    directory: Path
    first_port: int
    data: list[RedisServer] = field(default_factory=list, repr=False)
    sentinels: list[subprocess.Popen] = field(default_factory=list, repr=False)

    @property
    def sentinel_ports(self) -> list[int]:
        return [self.first_port + 2 + index for index in range(3)]

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SENTINEL_SERVICE}/{db}"

    def start(self) -> None:
        """Start the primary, its replica, then the Sentinels, and wait until they see both."""
        primary, replica = self.first_port, self.first_port + 1
        self.data = [
            RedisServer(self.directory / str(primary), port=primary, options=("--appendfsync", "everysec")),
            RedisServer(self.directory / str(replica), port=replica,
                        options=("--appendfsync", "everysec", "--replicaof", "127.0.0.1", str(primary))),
        ]  # fmt: skip
        for server in self.data:
            server.start()
        for port in self.sentinel_ports:
            config = self.directory / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {primary} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n"
                f"sentinel failover-timeout {SENTINEL_SERVICE} 10000\n"
            )
            self.sentinels.append(subprocess.Popen([_tool("redis-server"), str(config), "--sentinel"],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                seen = [
                    redis.Redis(port=port, socket_timeout=1).sentinel_slaves(SENTINEL_SERVICE)
                    for port in self.sentinel_ports
                ]
                if (
                    all(seen)
                    and has_online_replica(primary)
                    and redis.Redis(port=self.sentinel_ports[0]).execute_command(
                        "SENTINEL", "CKQUORUM", SENTINEL_SERVICE
                    )
                ):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the Sentinels did not come up")

    def primary_port(self) -> int:
        """The port of the primary the Sentinels name now."""
        _host, port = redis.Redis(port=self.sentinel_ports[0]).sentinel_get_master_addr_by_name(SENTINEL_SERVICE)
        return int(port)

    def kill_primary(self) -> int:
        """Kill the current primary at once (SIGKILL); its port."""
        port = self.primary_port()
        server = next(server for server in self.data if server.port == port)
        server.process.kill()
        server.process.wait(timeout=10)
        return port

    def wait_for_new_primary(self, old_port: int, timeout: float = 30) -> int:
        """Wait until the Sentinels have promoted another server; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port != old_port:
                return port
            time.sleep(0.1)
        raise RuntimeError("the Sentinels promoted no replica")

    def restart_as_replica(self, port: int, timeout: float = 30) -> None:
        """Start a killed server again and wait until the Sentinels have made it a replica of the new primary."""
        next(server for server in self.data if server.port == port).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if has_online_replica(self.primary_port()):
                return
            time.sleep(0.1)
        raise RuntimeError("the old primary did not come back as a replica")

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.terminate()
            sentinel.wait(timeout=30)
        for server in self.data:
            server.stop()
