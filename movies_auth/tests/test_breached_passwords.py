"""Breached passwords (DESIGN §7): refused at registration, password change and reset, checked against a local
stand-in of the k-anonymity range API; only five hex characters of the SHA-1 leave the service."""

from __future__ import annotations

import hashlib

import pytest

from auth_support import API, PASSWORD, login, register, row_count
from mail_support import RangeAPI
from movies_auth.models import OutboxMail, User
from testkit.ports import free_port

BREACHED = "password123456"


@pytest.fixture
def range_api(limits):
    with RangeAPI(BREACHED) as api:
        limits(pwned_passwords_url=api.url)
        yield api


def test_registration_refuses_a_breached_password_and_writes_nothing(app, client, range_api):
    response = register(client, "ada@example.com", BREACHED)

    assert response.status_code == 400
    assert list(response.json["errors"]) == ["password"]
    assert row_count(app, User) == 0
    assert row_count(app, OutboxMail) == 0


def test_only_the_first_five_hex_characters_of_the_sha1_leave(client, range_api):
    register(client, "ada@example.com", BREACHED)
    register(client, "grace@example.com", PASSWORD)

    digests = [hashlib.sha1(p.encode()).hexdigest().upper() for p in (BREACHED, PASSWORD)]  # noqa: S324
    assert range_api.requests == [f"/range/{digest[:5]}" for digest in digests]


def test_a_password_not_in_any_breach_is_accepted(client, range_api):
    assert register(client, "ada@example.com", PASSWORD).status_code == 201


def test_a_password_change_refuses_a_breached_password(client, account, range_api):
    response = client.post(
        f"{API}/users/{account.uuid}/password",
        headers=account.headers,
        json={"old_password": PASSWORD, "new_password": BREACHED},
    )

    assert response.status_code == 400
    assert "new_password" in response.json["errors"]
    assert login(client, account.email).status_code == 200


def test_a_reset_refuses_a_breached_password_and_its_link_stays_usable(app, client, account, limits):
    from pydantic import SecretStr

    from mail_support import SMTPServer

    server = SMTPServer()
    server.start()
    limits(smtp_url=SecretStr(f"smtp://127.0.0.1:{server.port}"))
    try:
        client.post(f"{API}/password_reset", json={"email": account.email})
        app.test_cli_runner().invoke(args=["mail", "send"])
        token = server.mailbox.token_for(account.email)
    finally:
        server.stop()

    with RangeAPI(BREACHED) as api:
        limits(pwned_passwords_url=api.url)
        refused = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": BREACHED})
        accepted = client.post(
            f"{API}/password_reset/confirm", json={"token": token, "new_password": "fresh passphrase"}
        )

    assert refused.status_code == 400 and "new_password" in refused.json["errors"]
    assert accepted.status_code == 204
    assert login(client, account.email, "fresh passphrase").status_code == 200


def test_an_unreachable_range_api_lets_passwords_through_by_default(app, client, limits, caplog):
    limits(pwned_passwords_url=f"http://127.0.0.1:{free_port()}/range/", pwned_passwords_timeout=0.5)

    response = register(client, "ada@example.com", BREACHED)

    assert response.status_code == 201
    assert "Breached-password check unavailable" in caplog.text


def test_an_unreachable_range_api_refuses_new_passwords_when_set_to_fail_closed(app, client, limits):
    limits(
        pwned_passwords_url=f"http://127.0.0.1:{free_port()}/range/",
        pwned_passwords_timeout=0.5,
        pwned_passwords_fail_closed=True,
    )

    response = register(client, "ada@example.com", PASSWORD)

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert row_count(app, User) == 0
