"""Headless Chromium for the tests that drive a real browser."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from testkit.processes import require

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

# The network here is closed: without these Chromium keeps reaching out for updates, sync and the like.
QUIET_FLAGS = ("--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run")


@contextmanager
def headless_chromium(*flags: str) -> Iterator[Chrome]:
    """Debian's Chromium under chromedriver, headless, on a profile of its own that is removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = require("chromium"), require("chromedriver")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *QUIET_FLAGS, *flags):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
