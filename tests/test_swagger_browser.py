"""Both API docs through nginx in a real headless browser: the operations render, and "Try it out" works."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from deployment import Platform
from testkit.browser import headless_chromium

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium("--disable-quic", "--window-size=1400,1000", "--ignore-certificate-errors") as driver:
        yield driver


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def operation(driver: WebDriver, method: str, path: str):
    """The operation block of `method path`, opened."""
    summary = wait(driver).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, f".opblock-{method} [data-path='{path}']"))
    )
    block = summary.find_element(By.XPATH, "./ancestor::div[contains(@class, 'opblock ')]")
    if "is-open" not in block.get_attribute("class"):
        summary.click()
    return block


def try_it_out(driver: WebDriver, block, body: dict | None = None) -> tuple[str, str]:
    """Press "Try it out", fill the JSON body, execute, and return (status, response body) as the page shows them."""
    wait(driver).until(lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    if body is not None:
        editor = wait(driver).until(lambda _: block.find_element(By.CSS_SELECTOR, "textarea.body-param__text"))
        editor.clear()
        editor.send_keys(json.dumps(body))
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait(driver).until(
        lambda _: block.find_element(By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
    )
    answer = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre")
    return status.text.strip(), answer.text


def test_the_auth_docs_render_and_log_in_for_real(platform: Platform, browser: WebDriver):
    email = f"browser-{uuid.uuid4().hex[:12]}@example.com"
    with platform.client() as web:
        assert web.post("/auth/api/v1/users", json={"email": email, "password": PASSWORD}).status_code == 201

    browser.get(f"{platform.url}/auth/apidocs/")
    wait(browser).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    paths = {element.get_attribute("data-path") for element in browser.find_elements(By.CSS_SELECTOR, "[data-path]")}
    assert {"/auth/api/v1/users", "/auth/api/v1/auth_token", "/auth/api/v1/auth_token/validation"} <= paths

    status, answer = try_it_out(browser, operation(browser, "post", "/auth/api/v1/auth_token"),
                                {"email": email, "password": PASSWORD})  # fmt: skip
    assert status == "200", answer
    tokens = json.loads(answer)
    assert tokens["token_type"] == "Bearer" and tokens["access_token"] and tokens["refresh_token"]


def test_the_movies_docs_render_and_list_films_for_real(platform: Platform, browser: WebDriver):
    browser.get(f"{platform.url}/api/openapi")
    wait(browser).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    paths = {element.get_attribute("data-path") for element in browser.find_elements(By.CSS_SELECTOR, "[data-path]")}
    assert {"/api/v1/films", "/api/v1/films/search", "/api/v1/films/{film_id}", "/api/v1/genres"} <= paths

    status, answer = try_it_out(browser, operation(browser, "get", "/api/v1/films"))
    assert status == "200", answer
    films = json.loads(answer)
    assert len(films) == 50 and {"uuid", "title", "imdb_rating"} <= set(films[0])
