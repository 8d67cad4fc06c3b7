"""What every suite run from the top shares: the packages under test imported first, under CI real PostgreSQL and
Redis or no run at all, and the time each suite took."""

from __future__ import annotations

import pytest

# importlib mode names a test module after its path (movies_auth/tests/test_x.py is `movies_auth.tests.test_x`) and
# would make a namespace package of the folder unless the installed package of that name is imported already.
import movies_async_api  # noqa: F401
import movies_auth  # noqa: F401
import movies_auth_client  # noqa: F401
from testkit.stores import require_real_stores_under_ci

pytest_plugins = ["testkit.suite_durations", "testkit.exclusive"]


def pytest_configure(config: pytest.Config) -> None:
    require_real_stores_under_ci()
