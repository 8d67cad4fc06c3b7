"""Which pytest-xdist worker this process is, and how many the run has: what keeps workers' resources apart."""

from __future__ import annotations

import os


def worker_name() -> str | None:
    """This worker's name (`gw1`), or None in a run without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def worker_number() -> int:
    """This worker's number (`gw1` is 1); 0 in a run without workers."""
    return int((worker_name() or "gw0").removeprefix("gw"))


def worker_count() -> int:
    """How many workers the run has; 1 without workers."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
