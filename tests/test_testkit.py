"""What the suites share from testkit, where a test of its own shows more than the suites' use of it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXCLUSIVE_RUN = {
    "pytest.ini": "[pytest]\nmarkers =\n    exclusive: runs while no other test does\n",
    "test_alone.py": """
import tempfile
from pathlib import Path

import pytest


@pytest.mark.exclusive
def test_alone():
    # One lock for the run, which every worker shares.
    assert len(list(Path(tempfile.gettempdir()).glob("pytest-exclusive-*.lock"))) == 1
""",
    "test_beside.py": "def test_beside():\n    pass\n",
}


def test_a_run_with_exclusive_tests_leaves_no_lock_file_behind(tmp_path: Path) -> None:
    run, temporary = tmp_path / "run", tmp_path / "tmp"
    run.mkdir()
    temporary.mkdir()
    for name, text in EXCLUSIVE_RUN.items():
        (run / name).write_text(text)

    # Only the plugins the run needs: the installed ones would take longer to load than the run takes.
    plugins = ["-p", "xdist", "-p", "testkit.exclusive", "-p", "no:cacheprovider"]
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-n", "2", "-q"], cwd=run, capture_output=True, text=True,
        env=os.environ | {"TMPDIR": str(temporary), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, timeout=120,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "2 passed" in finished.stdout
    assert list(temporary.glob("pytest-exclusive-*")) == []
