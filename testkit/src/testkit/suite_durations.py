"""A pytest plugin: at the end of a run, the time each suite took (setup, call and teardown of its tests)."""

from __future__ import annotations

from collections import defaultdict

import pytest

SUITES = ("movies_auth/tests", "movies_auth_client/tests", "movies_async_api/tests", "tests/ha", "tests")
_seconds: defaultdict[str, float] = defaultdict(float)


def suite_of(nodeid: str) -> str:
    """The suite a test belongs to: the first of SUITES its node id starts with."""
    return next((suite for suite in SUITES if nodeid.startswith(f"{suite}/")), "other")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[suite_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("seconds per suite")
    for suite, seconds in sorted(_seconds.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f}  {suite}")
    terminalreporter.write_line(f"{sum(_seconds.values()):8.1f}  total")
