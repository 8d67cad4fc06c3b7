"""Social sign-in plumbing for the tests: our app served on loopback, a browser (httpx, keeping cookies as a browser
does) that walks the code flow, and small servers answering as Yandex ID and VK ID document."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import werkzeug.serving
from flask import Flask

from testkit.http import StandInHandler


@contextmanager
def serve_app(app: Flask) -> Iterator[str]:
    """Serve `app` over HTTP on a free loopback port; its base URL."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str], bytes], Answer]


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """A small HTTP server on loopback whose every request `handle(method, path?query, headers, body)` answers."""

    class Answering(StandInHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, headers, body = handle(self.command, self.path, dict(self.headers), self.rfile.read(length))
            others = dict(headers)
            self.reply(status, body, others.pop("Content-Type", "application/json"), others)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class PlainOAuthServer:
    """An OAuth 2.0 server answering as Yandex ID or VK ID document: authorize (consent given at once, to the person
    `next_person` names), token (the code, once, with its PKCE verifier), and the user-info document."""

    def __init__(self, kind: str, client_id: str, client_secret: str = "") -> None:
        self.kind, self.client_id, self.client_secret = kind, client_id, client_secret
        self.base = ""
        self.people: dict[str, dict[str, Any]] = {}
        self.next_person = ""
        self.codes: dict[str, tuple[str, str, str]] = {}
        self.tokens: dict[str, str] = {}
        self.token_requests: list[dict[str, str]] = []
        self.userinfo_headers: list[dict[str, str]] = []

    @classmethod
    @contextmanager
    def serving(cls, kind: str, client_id: str, client_secret: str = "") -> Iterator[PlainOAuthServer]:
        """A server of this `kind` (`yandex` or `vk`) answering on loopback for the app `client_id`."""
        server = cls(kind, client_id, client_secret)
        with serve(server) as base:
            server.base = base
            yield server

    def settings(self) -> dict[str, str]:
        """The OAUTH_<KIND>_* variables (without `OAUTH_`) pointing a provider of this kind at this server."""
        prefix = self.kind.upper()
        variables = {
            f"{prefix}_AUTHORIZE_URL": f"{self.base}/authorize",
            f"{prefix}_TOKEN_URL": f"{self.base}/token",
            f"{prefix}_USERINFO_URL": f"{self.base}/userinfo" + ("?format=json" if self.kind == "yandex" else ""),
            f"{prefix}_CLIENT_ID": self.client_id,
        }
        return variables | ({f"{prefix}_CLIENT_SECRET": self.client_secret} if self.client_secret else {})

    def __call__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if parts.path == "/authorize":
            return self._authorize(query)
        if parts.path == "/token":
            return self._token(form, headers)
        if parts.path == "/userinfo":
            return self._userinfo(query, form, headers)
        return json_answer({"error": "not_found"}, 404)

    def _authorize(self, query: dict[str, str]) -> Answer:
        if query.get("client_id") != self.client_id or query.get("code_challenge_method") != "S256":
            return json_answer({"error": "invalid_request"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (self.next_person, query["code_challenge"], query["redirect_uri"])
        answer = {"code": code, "state": query["state"]}
        if self.kind == "vk":
            answer |= {"device_id": "device-" + code[:8], "type": "code_v2"}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(answer)}"}, b""

    def _token(self, form: dict[str, str], headers: dict[str, str]) -> Answer:
        self.token_requests.append(form)
        person, challenge, redirect_uri = self.codes.pop(form.get("code", ""), ("", "", ""))
        verifier = form.get("code_verifier", "")
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not person or expected != challenge or form.get("redirect_uri") != redirect_uri:
            return json_answer({"error": "invalid_grant"}, 400)
        if self.kind == "vk" and not form.get("device_id"):
            return json_answer({"error": "invalid_request", "error_description": "device_id is required"}, 400)
        token = secrets.token_urlsafe(16)
        self.tokens[token] = person
        answer = {"access_token": token, "token_type": "bearer", "expires_in": 3600}
        if self.kind == "vk":
            answer |= {"user_id": int(self.people[person]["user_id"]), "state": form.get("state"), "scope": "email"}
        return json_answer(answer)

    def _userinfo(self, query: dict[str, str], form: dict[str, str], headers: dict[str, str]) -> Answer:
        self.userinfo_headers.append(headers)
        if self.kind == "yandex":
            scheme, _, token = headers.get("Authorization", "").partition(" ")
            if scheme != "OAuth" or token not in self.tokens:
                return json_answer({"error": "invalid_token"}, 401)
            return json_answer(self.people[self.tokens[token]])
        if form.get("client_id") != self.client_id or form.get("access_token") not in self.tokens:
            return json_answer({"error": "invalid_token", "error_description": "invalid access_token"}, 401)
        return json_answer({"user": self.people[self.tokens[form["access_token"]]]})


def yandex_person(person_id: str, email: str, client_id: str) -> dict[str, Any]:
    """What login.yandex.ru/info answers (format=json): note `client_id`, the same for every user of our app."""
    return {
        "id": person_id,
        "login": email.split("@")[0],
        "client_id": client_id,
        "display_name": email.split("@")[0],
        "real_name": "Ivan Petrov",
        "first_name": "Ivan",
        "last_name": "Petrov",
        "sex": "male",
        "default_email": email,
        "emails": [email],
        "psuid": "1.AAceCw." + person_id,
    }


def vk_person(user_id: str, email: str) -> dict[str, Any]:
    """What VK ID's /oauth2/user_info answers under `user`."""
    return {
        "user_id": user_id,
        "first_name": "Ivan",
        "last_name": "Ivanov",
        "phone": "79*******21",
        "avatar": "https://pp.userapi.com/60tZWMo4SmwcploUVl9XEt8ufnTTvDUmQ6Bj1g/mmv1pcj63C4.png",
        "email": email,
        "sex": 2,
        "verified": False,
        "birthday": "01.01.2000",
    }


def authorize_as(browser: httpx.Client, authorize_url: str, sub: str) -> httpx.Response:
    """At the OpenID provider's consent page, sign in as `sub` and consent; the redirect back (not followed)."""
    page = browser.get(authorize_url)
    assert page.status_code == 200 and "Authorize" in page.text, page.text
    answer = browser.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer


BINDING_COOKIE = re.compile(r"^(__Secure-)?movies_oauth_[0-9a-f]{16}$")


def new_browser() -> httpx.Client:
    """A browser: keeps the cookies our service sets (per host and path), sends them back, follows no redirect."""
    return httpx.Client(timeout=10)


def same_browser(browser: httpx.Client) -> httpx.Client:
    """Another connection of the same browser (a second tab): a client holding `browser`'s cookies."""
    return httpx.Client(timeout=10, cookies=browser.cookies)


def binding_cookies(browser: httpx.Client) -> dict[str, str]:
    """The sign-in binding cookies `browser` holds now, by name."""
    return {cookie.name: cookie.value for cookie in browser.cookies.jar if BINDING_COOKIE.match(cookie.name)}


def set_cookies(response: httpx.Response) -> dict[str, tuple[str, dict[str, str | bool]]]:
    """The cookies an answer sets, by name: the value and the attributes (lower-case names; flags as True)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        parsed: dict[str, str | bool] = {}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value if has_value else True
        found[name] = (value, parsed)
    return found


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
