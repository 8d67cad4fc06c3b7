"""The docs' walk-through, run as a reader runs it: `make run`'s servers, then every `bash` block of
docs/walkthrough.md in order in one shell, then Ctrl-C.

The servers are started by the very script `make run` runs (scripts/serve-local), on the embedded stores a new
user has, in a scratch instance folder and on free ports.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from deployment import REPO, VENV_BIN, require
from testkit.ports import free_port

WALKTHROUGH = REPO / "docs" / "walkthrough.md"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)
READY_LINE = "Ctrl-C stops both."
START_TIMEOUT = 300


def bash_blocks(page: Path) -> list[str]:
    """The page's fenced `bash` blocks, in order."""
    return BASH_BLOCK.findall(page.read_text(encoding="utf-8"))


class ServeLocal:
    """scripts/serve-local in a process group of its own, as a terminal runs `make run`; its output collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(REPO / "scripts" / "serve-local")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            # A terminal's Ctrl-C must reach the script even when this test runs with SIGINT ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.run_dir = Path(env["RUN_DIR"])
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if READY_LINE in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def ctrl_c(self) -> int:
        """Send SIGINT to the foreground process group, as a terminal does; the script's exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        for group in {self.process.pid, *self._server_groups()}:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _server_groups(self) -> set[int]:
        groups = set()
        for pid_file in self.run_dir.glob("*.pid"):
            try:
                groups.add(os.getpgid(int(pid_file.read_text())))
            except (ValueError, ProcessLookupError):
                pass
        return groups


@pytest.fixture
def platform_env(tmp_path) -> dict[str, str]:
    """What `make run` runs with on a new machine: no DATABASE_URL or REDIS_URL, so the embedded stores."""
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}}
    return env | {
        "BIN": str(VENV_BIN),
        "PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}",
        "AUTH_PORT": str(free_port()),
        "MOVIES_PORT": str(free_port()),
        "RUN_DIR": str(tmp_path / "run"),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DEMO_FILMS": "60",
        "GUNICORN_WORKERS": "1",
        # The service token shares the permission checks' 0.5 s read timeout, which movies_auth's hashing of the
        # service secret can outlast on a busy 2-CPU machine; the walk-through needs the token, not that race.
        "AUTH_READ_TIMEOUT": "5",
    }


def test_the_walkthrough_runs_against_make_runs_servers_and_ctrl_c_stops_them_cleanly(platform_env):
    require("curl")
    bash = require("bash")
    assert (REPO / ".venv" / "bin").resolve() == VENV_BIN.resolve(), "the walk-through calls .venv/bin/flask"
    blocks = bash_blocks(WALKTHROUGH)
    assert len(blocks) >= 15
    servers = ServeLocal(platform_env)
    try:
        assert servers.ready.wait(START_TIMEOUT), servers.output[-3000:]

        # The addresses make run prints answer (not the API root's 404).
        printed = re.findall(r"http://127\.0\.0\.1:\d+/\S*", servers.output)
        assert len(printed) == 4, servers.output[-3000:]
        for url in printed:
            assert httpx.get(url, timeout=10).status_code == 200, url

        walked = subprocess.run(
            [bash, "-c", "set -euo pipefail\n" + "\n".join(blocks)],
            cwd=REPO,
            env=platform_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert walked.returncode == 0, f"{walked.stdout[-3000:]}\n{walked.stderr[-3000:]}"
        assert "x-auth-degraded: 1" in walked.stdout.lower()

        started = time.monotonic()
        assert servers.ctrl_c() == 0, servers.output[-3000:]
        assert time.monotonic() - started < 60
    finally:
        servers.kill()
    assert servers.output.rstrip().endswith("Stopped.")
    assert "Traceback" not in servers.output
    assert "Interrupt" not in servers.output
    assert not list(Path(platform_env["RUN_DIR"]).glob("*.pid"))


def test_every_bash_block_is_found():
    text = WALKTHROUGH.read_text(encoding="utf-8")

    assert len(bash_blocks(WALKTHROUGH)) == text.count("```bash\n")
