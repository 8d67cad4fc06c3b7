"""A pytest plugin: a test marked `exclusive` runs while no other xdist worker of the run runs one, for a test that
stalls a server every worker shares (it pauses Redis); every other test holds a shared lock while it runs."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:  # one process: nothing runs beside the test
        return (yield)
    # Setup, call and teardown, so that another worker's fixtures (which use the stores too) wait as well.
    lock = Path(tempfile.gettempdir()) / f"pytest-exclusive-{workerinput['testrunuid']}.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX if item.get_closest_marker("exclusive") else fcntl.LOCK_SH)
        return (yield)
