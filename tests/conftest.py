"""The deployment, run the way the images run it: the same nginx templates, entrypoints and gunicorn configs,
on loopback ports, with real PostgreSQL and Redis from DATABASE_URL/REDIS_URL.

The tools these tests drive (nginx, docker-compose, chromium) come from Debian packages. Where one is missing
the tests that need it skip, except under CI, where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deployment import Platform, running_platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform"), "e2e", redis_offsets=(1, 0)) as started:
        yield started
