"""Servers the tests start as their containers start them: one process group each, awaited until ready."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest


def tool(name: str) -> str:
    """The path of a command on PATH; FileNotFoundError naming it when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed")
    return path


def require(tool: str) -> str:
    """The path of a command the test needs: skip without it, but fail under CI, which must run everything."""
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{tool} is not installed; CI installs it (see .ci/run)")
    pytest.skip(f"{tool} is not installed (Debian package); CI runs this test")


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
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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

    def line_with(self, text: str, timeout: float = 10) -> str:
        """The first line of its output holding `text`, waited for: a server logs a request after answering it."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.output().splitlines() if text in line), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} logged no line with {text!r} within {timeout} s")
            time.sleep(0.05)

    def __enter__(self) -> Process:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def gunicorn(
    name: str,
    app: str,
    config: Path,
    env: dict[str, str],
    port: int,
    log: Path,
    ready_path: str,
    *,
    cwd: Path,
    options: tuple[str, ...] = (),
) -> Process:
    """`app` under gunicorn with `config` (and further command-line `options`) as its container serves it, bound to
    loopback `port` (not started)."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), *options, app]
    bound = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    return Process(name, command, cwd, bound, log, f"http://127.0.0.1:{port}{ready_path}")
