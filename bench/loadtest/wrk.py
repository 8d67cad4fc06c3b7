"""wrk at one fixed concurrency: its Lua request scripts and the reading of its output."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from loadtest.rows import Row, median_row


class Wrk:
    """wrk at one fixed concurrency for every row, so rows compare; a row may ask for fewer connections."""

    def __init__(self, options: argparse.Namespace, scratch: Path, reference_url: str) -> None:
        self.binary = shutil.which("wrk") or sys.exit("wrk is not installed (Debian package wrk)")
        self.duration, self.connections, self.threads = options.duration, options.connections, options.threads
        self.rounds, self.scratch, self.reference_url = options.rounds, scratch, reference_url
        self.references: list[Row] = []

    def compared(self, name: str, url: str, **kwargs: object) -> Row:
        """The reference and this row in turn, `rounds` times, each figure the median of its rounds.

        Pairs measured back to back keep the ratio on a noisy machine; a p99 swings most of all between
        runs seconds apart, so one pair would not settle it.
        """
        references, rows = [], []
        for round_ in range(self.rounds):
            warm_up = round_ == 0
            references.append(self.run("reference", self.reference_url, warm_up=warm_up and not self.references))
            self.references.append(references[-1])
            rows.append(self.run(name, url, warm_up=warm_up, **kwargs))  # type: ignore[arg-type]
        row, reference = median_row(name, rows), median_row("reference", references)
        row.reference_rps, row.reference_p99_ms = reference.requests_per_second, reference.p99_ms
        return row

    def run(
        self, name: str, url: str, *, method: str = "GET", headers: dict | None = None, body: str = "",
        connections: int | None = None, script: Callable[[], str] | None = None, warm_up: bool = True,
    ) -> Row:  # fmt: skip
        """Warm the server up (every worker started, every cache filled), then measure.

        `script`, when given, makes the Lua script of each of the two runs (a refresh chain needs a fresh one).
        """
        connections = connections or self.connections
        threads = min(self.threads, connections)
        outputs = []
        for seconds in (2, self.duration) if warm_up else (self.duration,):
            lua = self.scratch / f"{uuid.uuid4().hex}.lua"
            lua.write_text(script() if script else request_script(method, headers or {}, body))
            command = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                       "--latency", "-s", str(lua), url]  # fmt: skip
            outputs.append(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        return Row(name, *parse_wrk(outputs[-1]), connections=connections)


def request_script(method: str, headers: dict[str, str], body: str) -> str:
    """A wrk script sending one fixed request."""
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in headers.items()]
    return "\n".join(lines) + "\n"


def refresh_chain_script(refresh_token: str) -> str:
    """A wrk script (one connection) exchanging each refresh token for the next, as a client does."""
    return f"""
token = {json.dumps(refresh_token)}
request = function()
  return wrk.format("POST", nil, {{["Authorization"] = "Bearer " .. token}}, "")
end
response = function(status, headers, body)
  local next_token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if next_token then token = next_token end
end
"""


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, errors) from wrk's report; errors are non-2xx/3xx answers and socket errors."""

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    if socket := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in socket.groups())
    return rate, latency("50"), latency("99"), errors
