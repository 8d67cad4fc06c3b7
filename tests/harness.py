"""Servers and scratch stores, shared by the deployment tests and `make bench`: a process started the way
its container starts it, a free loopback port, a fresh PostgreSQL database, a wiped Redis database."""

from __future__ import annotations

import os
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


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; its URL."""
    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_redis(url: str, offset: int) -> str:
    """The URL of the Redis database `offset` after the one `url` names, emptied."""
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) + offset) % 16
    fresh = urlunsplit(parts._replace(path=f"/{number}"))
    redis.Redis.from_url(fresh).flushdb()
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
