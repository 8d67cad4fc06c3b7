"""A pytest plugin: a test marked `exclusive` runs while no other xdist worker of the run runs one, for a test that
stalls a server every worker shares (it pauses Redis); every other test holds a shared lock while it runs.

The lock is one file for the run: the controller makes it, hands its path to each worker, and removes it once the
workers have ended, so no run leaves one behind.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

LOCK_INPUT = "exclusive_lock"
_run_lock = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist nothing runs beside a test
def pytest_configure_node(node: WorkerController) -> None:
    """Give a worker the run's lock file, made for the first."""
    stash = node.config.stash
    if _run_lock not in stash:
        handle, path = tempfile.mkstemp(prefix="pytest-exclusive-", suffix=".lock")
        os.close(handle)
        stash[_run_lock] = Path(path)
    node.workerinput[LOCK_INPUT] = str(stash[_run_lock])


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's lock file: the controller's session ended after every worker's."""
    if _run_lock in config.stash:
        config.stash[_run_lock].unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:  # one process: nothing runs beside the test
        return (yield)
    # Setup, call and teardown, so that another worker's fixtures (which use the stores too) wait as well.
    with Path(workerinput[LOCK_INPUT]).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX if item.get_closest_marker("exclusive") else fcntl.LOCK_SH)
        return (yield)
