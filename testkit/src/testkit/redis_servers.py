"""Redis servers of the test's own on loopback: a single one, a Cluster, Sentinels; stopped, killed or paused."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from testkit.ports import free_port
from testkit.processes import tool


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
            [tool("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
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
            [tool("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{server.port}" for server in self.servers),
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
            self.sentinels.append(subprocess.Popen([tool("redis-server"), str(config), "--sentinel"],
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

    def failovers(self) -> int:
        """How many failovers the Sentinels have made (their configuration epoch)."""
        master = redis.Redis(port=self.sentinel_ports[0], decode_responses=True).sentinel_master(SENTINEL_SERVICE)
        return int(master["config-epoch"])

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
