"""A PostgreSQL cluster of the test's own, started and stopped by the test (failover, replicas, outages)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from testkit.ports import free_port
from testkit.processes import tool


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL's tools refuse to run as root; CI runs as root.
    return [tool("runuser"), "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


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
