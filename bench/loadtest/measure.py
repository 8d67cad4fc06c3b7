"""The rows: movies_auth's checks, logins and refreshes, and the movies API's film list, each under wrk."""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx

from loadtest.common import FILM_LIST_PATH, MOVIES_FILM_LIST, PASSWORD, SETUP_TIMEOUT, VIEWER_EMAIL
from loadtest.rows import Row
from loadtest.services import served_as_subscriber
from loadtest.wrk import Wrk, refresh_chain_script


def after_grant_changes(api: str, viewer: dict, root_headers: dict, condition: str, checks: int = 300) -> Row:
    """Permission checks, one at a time, each right after a grant change made every cached answer stale."""
    path = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
    toggle = f"{api}/roles/subscriber/permissions"
    times = []
    with httpx.Client(timeout=30) as client:
        client.post(f"{api}/permissions", json={"name": "bench_toggle"}, headers=root_headers)
        for number in range(checks):
            if number % 2:
                client.delete(f"{toggle}/bench_toggle", headers=root_headers).raise_for_status()
            else:
                client.post(toggle, json={"name": "bench_toggle"}, headers=root_headers).raise_for_status()
            started = time.perf_counter()
            answer = client.get(path, headers=viewer["headers"])
            times.append((time.perf_counter() - started) * 1000)
            if answer.json() != {"valid": True}:
                raise RuntimeError(f"unexpected answer to a permission check: {answer.text}")
    quantiles = statistics.quantiles(times, n=100)
    return Row("permission validation after a grant change", 1000 / statistics.mean(times), quantiles[49],
               quantiles[98], 0, connections=1)  # fmt: skip


def auth_rows(wrk: Wrk, auth_url: str, viewer: dict, root_headers: dict, label: str = "") -> list[Row]:
    """Every movies_auth row: health, the two validations (warm, and after a grant change), login, refresh."""
    api = f"{auth_url}/auth/api/v1"
    condition = quote(json.dumps({"any": ["pro_read"]}))
    check = f"{api}/users/{viewer['uuid']}/combined_permissions/validation?permissions={condition}"
    credentials = {"email": VIEWER_EMAIL, "password": PASSWORD}

    def fresh_refresh_chain() -> str:
        return refresh_chain_script(httpx.post(f"{api}/auth_token", json=credentials).json()["refresh_token"])

    rows = [
        wrk.compared("/auth/healthz", f"{auth_url}/auth/healthz"),
        wrk.compared("token validation", f"{api}/auth_token/validation", headers=viewer["headers"]),
        wrk.compared("permission validation (warm)", check, headers=viewer["headers"]),
        after_grant_changes(api, viewer, root_headers, condition),
        # One at a time: latency is then the server's time per login, to set beside one hash.
        wrk.run(
            "login (one at a time)",
            f"{api}/auth_token",
            method="POST",
            body=json.dumps(credentials),
            headers={"Content-Type": "application/json"},
            connections=1,
        ),
        wrk.run("refresh (one chain)", f"{api}/auth_token/token_refresh", connections=1, script=fresh_refresh_chain),
    ]
    for row in rows:
        row.name += label
    return rows


def movies_rows(wrk: Wrk, movies_url: str, viewer: dict) -> list[Row]:
    """The movies API's rows, each against the constant film page: the film list (anonymous and as a
    subscriber), a search and a film's detail, every cache warm."""
    api = f"{movies_url}/api/v1"
    films = f"{movies_url}{FILM_LIST_PATH}"
    first = httpx.get(films, timeout=SETUP_TIMEOUT).raise_for_status().json()[0]["uuid"]
    anonymous = wrk.compared(f"{MOVIES_FILM_LIST}, anonymous", films)
    as_subscriber = served_as_subscriber(films, viewer["headers"])
    rows = [
        wrk.compared(f"{MOVIES_FILM_LIST}, subscriber", films, headers=viewer["headers"]),
        wrk.compared("movies: search, subscriber", f"{api}/films/search?query=empire", headers=viewer["headers"]),
        wrk.compared("movies: film detail, subscriber", f"{api}/films/{first}", headers=viewer["headers"]),
    ]
    if not as_subscriber or not served_as_subscriber(films, viewer["headers"], within=0):
        for row in rows:
            row.note = "answered degraded: movies API had no word from movies_auth"
    return [anonymous, *rows]


def validation_during_logins(wrk: Wrk, api: str, viewer: dict) -> Row:
    """Token validation while two clients log in without pause: a login holds a sync worker for one hash."""
    credentials = json.dumps({"email": VIEWER_EMAIL, "password": PASSWORD})
    with ThreadPoolExecutor(1) as pool:
        logins = pool.submit(wrk.run, "logins", f"{api}/auth_token", method="POST", body=credentials,
                             headers={"Content-Type": "application/json"}, connections=2)  # fmt: skip
        row = wrk.run("token validation during logins", f"{api}/auth_token/validation", headers=viewer["headers"])
        logins.result()
    return row


def validation_during_password_guessing(wrk: Wrk, api: str, viewer: dict) -> Row:
    """Token validation while 16 clients guess the viewer's old password without pause, each guess a hash.

    Run with PASSWORD_HASHING_CONCURRENCY and PASSWORD_HASHING_QUEUE set high to see it without the bound.
    """
    guess = json.dumps({"old_password": "not the password", "new_password": "a brand new passphrase"})
    headers = {"Content-Type": "application/json", **viewer["headers"]}
    with ThreadPoolExecutor(1) as pool:
        guesses = pool.submit(wrk.run, "password guesses", f"{api}/users/{viewer['uuid']}/password", method="POST",
                              body=guess, headers=headers, connections=16)  # fmt: skip
        row = wrk.run("token validation during password guessing", f"{api}/auth_token/validation",
                      headers=viewer["headers"])  # fmt: skip
        guesses.result()
    return row
