"""The documentation site: it builds with `mkdocs build --strict` (no broken link between pages, every nav entry
present), and its Mermaid diagrams render in a browser that cannot reach anything but this machine."""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from deployment import REPO, VENV_BIN
from testkit.browser import headless_chromium

# Every host name but the loopback address fails to resolve: a diagram drawn by a script from a CDN cannot render.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mkdocs = VENV_BIN / "mkdocs"
    if not mkdocs.exists():
        pytest.fail("mkdocs is not installed: make test installs docs/requirements.txt")
    if not (REPO / "docs" / "assets" / "javascripts" / "mermaid.min.js").exists():
        pytest.fail("docs/assets/javascripts/mermaid.min.js is missing: make test fetches it")
    directory = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(directory)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-5000:]
    return directory


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium(OFFLINE) as driver:
        yield driver


def test_every_page_of_the_nav_is_built(site):
    for page in ("walkthrough", "architecture", "settings", "cli", "security", "changelog", "benchmarks"):
        assert (site / page / "index.html").exists(), page
    cli = (site / "cli" / "index.html").read_text()
    assert "grant-role" in cli and "load-sqlite" in cli and "--replace" in cli  # generated from the commands
    settings = (site / "settings" / "index.html").read_text()
    assert "FAST_CHECKS" in settings and "AUTH_ANSWER_TTL" in settings  # generated from the settings objects


def test_the_diagrams_render_without_a_cdn(served, offline_browser):
    offline_browser.get(f"{served}/architecture/")

    # Material swaps each `pre.mermaid` source for a `div.mermaid` holding the drawing (in a closed shadow root).
    diagrams = WebDriverWait(offline_browser, 60).until(
        lambda driver: len(found := driver.find_elements(By.CSS_SELECTOR, "div.mermaid")) >= 2 and found
    )

    assert len(diagrams) == 2
    assert offline_browser.find_elements(By.CSS_SELECTOR, "pre.mermaid") == []
    WebDriverWait(offline_browser, 30).until(lambda _: all(diagram.size["height"] > 200 for diagram in diagrams))
