"""The account lifecycle by email (DESIGN §7), end to end through the HTTP API, with mail sent to a real SMTP server.

Each test's mails travel: request -> outbox row -> `flask mail send` -> aiosmtpd on loopback -> the link's token.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from pydantic import SecretStr

from auth_support import API, PASSWORD, login, refresh, row_count, validate
from mail_support import SMTPServer
from movies_auth.domain import outbox
from movies_auth.extensions import db
from movies_auth.models import LinkToken, OutboxMail, User, utcnow

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def smtp(limits):
    server = SMTPServer()
    server.start()
    limits(smtp_url=SecretStr(f"smtp://127.0.0.1:{server.port}"))
    yield server
    server.stop()


@pytest.fixture
def deliver(app):
    """Run `flask mail send` once, as an operator (or cron) would; its output."""
    runner = app.test_cli_runner()

    def run() -> str:
        result = runner.invoke(args=["mail", "send"])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def user_of(client, account) -> dict:
    return client.get(f"{API}/users/{account.uuid}", headers=account.headers).json


def outbox_rows(app) -> int:
    return row_count(app, OutboxMail)


# Verification


def test_registration_mails_a_verification_link_that_works_once(client, smtp, deliver, account):
    assert "1 sent" in deliver()

    [mail] = smtp.mailbox.to(account.email)
    assert mail["Subject"] == "Confirm your email address"
    assert mail.get_body(("html",)) is not None and mail.get_body(("plain",)) is not None
    token = smtp.mailbox.token_for(account.email)
    first = client.post(f"{API}/users/email_verification/confirm", json={"token": token})
    again = client.post(f"{API}/users/email_verification/confirm", json={"token": token})

    assert first.status_code == 204
    assert user_of(client, account)["email_verified"] is True
    assert again.status_code == 400
    assert "token" in again.json["errors"]


def test_a_new_verification_link_on_request(client, smtp, deliver, account):
    deliver()

    response = client.post(f"{API}/users/email_verification", json={"email": "ADA@example.com"})
    deliver()

    assert response.status_code == 202
    assert len(smtp.mailbox.to(account.email)) == 2
    confirmed = client.post(
        f"{API}/users/email_verification/confirm", json={"token": smtp.mailbox.token_for(account.email)}
    )
    assert confirmed.status_code == 204


def test_a_verified_or_unknown_address_gets_the_same_answer_and_no_mail(app, client, smtp, deliver, account):
    deliver()
    client.post(f"{API}/users/email_verification/confirm", json={"token": smtp.mailbox.token_for(account.email)})

    answers = [
        client.post(f"{API}/users/email_verification", json={"email": email})
        for email in (account.email, "nobody@example.com")
    ]
    deliver()

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json == answers[1].json
    assert len(smtp.mailbox.messages) == 1  # the registration's only
    assert outbox_rows(app) == 0


def test_login_may_require_a_verified_email(client, smtp, deliver, account, limits):
    limits(require_verified_email=True)

    refused = login(client, account.email)
    deliver()
    client.post(f"{API}/users/email_verification/confirm", json={"token": smtp.mailbox.token_for(account.email)})

    assert refused.status_code == 403
    assert "POST /auth/api/v1/users/email_verification" in refused.json["msg"]
    assert login(client, account.email, "wrong password!").status_code == 401  # no hint without the password
    assert login(client, account.email).status_code == 200


# Password reset


def test_password_reset_end_to_end_ends_every_session(client, smtp, deliver, account):
    other = login(client, account.email).json

    response = client.post(f"{API}/password_reset", json={"email": account.email})
    deliver()
    assert [m["Subject"] for m in smtp.mailbox.to(account.email)][-1] == "Reset your password"
    token = smtp.mailbox.token_for(account.email)
    confirmed = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    replayed = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": "yet another one!"})

    assert response.status_code == 202
    assert confirmed.status_code == 204
    assert replayed.status_code == 400
    assert validate(client, account.access_token).status_code == 401
    assert refresh(client, other["refresh_token"]).status_code == 401
    assert login(client, account.email).status_code == 401
    assert login(client, account.email, NEW_PASSWORD).status_code == 200
    assert user_of(client, account) is not None


def test_a_reset_link_expires(client, smtp, deliver, account, settings):
    client.post(f"{API}/password_reset", json={"email": account.email})
    deliver()
    token = smtp.mailbox.token_for(account.email)

    with time_machine.travel(utcnow() + settings.password_reset_ttl + timedelta(seconds=1)):
        late = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})

    assert late.status_code == 400
    assert login(client, account.email).status_code == 200


def test_a_reset_link_still_works_just_before_it_expires(client, smtp, deliver, account, settings):
    client.post(f"{API}/password_reset", json={"email": account.email})
    deliver()
    token = smtp.mailbox.token_for(account.email)

    with time_machine.travel(utcnow() + settings.password_reset_ttl - timedelta(seconds=5)):
        on_time = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})

    assert on_time.status_code == 204


def test_a_reset_link_dies_when_the_password_changes_another_way(client, smtp, deliver, account):
    client.post(f"{API}/password_reset", json={"email": account.email})
    deliver()
    token = smtp.mailbox.token_for(account.email)
    changed = client.post(
        f"{API}/users/{account.uuid}/password",
        headers=account.headers,
        json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    late = client.post(f"{API}/password_reset/confirm", json={"token": token, "new_password": "yet another one!"})

    assert changed.status_code == 204
    assert late.status_code == 400
    assert login(client, account.email, NEW_PASSWORD).status_code == 200


def test_the_same_token_confirmed_twice_at_once_succeeds_once(app, client, smtp, deliver, account):
    client.post(f"{API}/password_reset", json={"email": account.email})
    deliver()
    token = smtp.mailbox.token_for(account.email)
    start = threading.Barrier(2)
    statuses = []

    def confirm(password: str) -> None:
        with app.test_client() as own:
            start.wait()
            body = {"token": token, "new_password": password}
            statuses.append(own.post(f"{API}/password_reset/confirm", json=body).status_code)

    racers = [threading.Thread(target=confirm, args=(p,)) for p in ("first new password", "second new password")]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert sorted(statuses) == [204, 400]
    assert [login(client, account.email, p).status_code for p in ("first new password", "second new password")] in (
        [200, 401],
        [401, 200],
    )


def test_known_and_unknown_addresses_get_identical_answers(app, client, account):
    def ask(email: str):
        return client.post(f"{API}/password_reset", json={"email": email})

    known, unknown = ask(account.email), ask("nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    varying = {"X-Request-Id", "Date", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    assert {k: v for k, v in known.headers if k not in varying} == {
        k: v for k, v in unknown.headers if k not in varying
    }
    assert outbox_rows(app) == 3  # the registration's, and one each: the same writes either way


def test_known_and_unknown_addresses_cost_the_same(client, account):
    def duration(email: str) -> float:
        started = time.perf_counter()
        assert client.post(f"{API}/password_reset", json={"email": email}).status_code == 202
        return time.perf_counter() - started

    for warm_up in (account.email, "nobody@example.com"):
        duration(warm_up)
    known, unknown = [], []
    for _ in range(15):  # interleaved, so a slow moment of the machine falls on both
        known.append(duration(account.email))
        unknown.append(duration("nobody@example.com"))

    # What a leak would cost (a password hash, an SMTP exchange in the request) is tens of milliseconds.
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    assert abs(known_median - unknown_median) < max(0.005, 0.5 * min(known_median, unknown_median))


# Email change


def change_email(client, account, new_email: str, password: str = PASSWORD, headers=None):
    body = {"new_email": new_email, "password": password}
    return client.post(f"{API}/users/{account.uuid}/email", json=body, headers=headers or account.headers)


def test_email_change_is_confirmed_by_the_new_address_and_told_to_the_old(client, smtp, deliver, account):
    response = change_email(client, account, "Countess@Example.com")
    deliver()

    assert response.status_code == 202
    assert user_of(client, account)["email"] == account.email  # not before the new address confirms
    [notice] = [m for m in smtp.mailbox.to(account.email) if "being changed" in m["Subject"]]
    assert "countess@example.com" in notice.get_body(("plain",)).get_content()
    token = smtp.mailbox.token_for("countess@example.com")
    confirmed = client.post(f"{API}/users/email_change/confirm", json={"token": token})
    replayed = client.post(f"{API}/users/email_change/confirm", json={"token": token})

    assert confirmed.status_code == 204
    assert replayed.status_code == 400
    assert user_of(client, account)["email"] == "countess@example.com"
    assert user_of(client, account)["email_verified"] is True
    assert login(client, "countess@example.com").status_code == 200
    assert login(client, account.email).status_code == 401


def test_email_change_with_a_wrong_password_is_refused_and_counted_like_a_failed_login(app, client, account, limits):
    limits(login_free_failures=2)

    statuses = [change_email(client, account, "countess@example.com", "wrong password!").status_code for _ in range(3)]

    assert statuses[:2] == [400, 400]
    assert statuses[2] == 429
    assert outbox_rows(app) == 1  # the registration's only
    assert login(client, account.email).status_code == 429  # the same counter as logins from this address


def test_an_address_taken_before_the_confirmation_is_a_conflict(client, smtp, deliver, account, make_account):
    change_email(client, account, "grace@example.com")
    deliver()
    token = smtp.mailbox.token_for("grace@example.com")
    make_account("grace@example.com")

    response = client.post(f"{API}/users/email_change/confirm", json={"token": token})

    assert response.status_code == 409
    assert user_of(client, account)["email"] == account.email


def test_a_superuser_sets_another_accounts_email_at_once(client, smtp, deliver, account, superuser, make_account):
    make_account("grace@example.com")
    url = f"{API}/users/{account.uuid}/email"

    taken = client.post(url, json={"new_email": "grace@example.com"}, headers=superuser.headers)
    response = client.post(url, json={"new_email": "countess@example.com"}, headers=superuser.headers)
    deliver()

    assert taken.status_code == 409
    assert response.status_code == 200
    assert response.json["email"] == "countess@example.com" and response.json["email_verified"] is False
    assert any("administrator" in m.get_body(("plain",)).get_content() for m in smtp.mailbox.to(account.email))
    assert smtp.mailbox.token_for("countess@example.com")


def test_another_user_may_not_change_an_email(client, account, make_account):
    grace = make_account("grace@example.com")

    response = change_email(client, account, "mine@example.com", grace.password, headers=grace.headers)

    assert response.status_code == 403


# Delivery


def test_an_smtp_outage_loses_no_mail_and_two_senders_deliver_it_once(app, client, account, limits):
    server = SMTPServer()  # not started: the SMTP server is down
    limits(smtp_url=SecretStr(f"smtp://127.0.0.1:{server.port}"), smtp_timeout=2.0)
    runner = app.test_cli_runner()

    requested = client.post(f"{API}/password_reset", json={"email": account.email})
    down = runner.invoke(args=["mail", "send"]).output
    server.start()
    try:
        start = threading.Barrier(2)

        def sender() -> None:
            with app.app_context():
                start.wait()
                for _ in range(3):
                    outbox.deliver_due()
                db.session.remove()

        with time_machine.travel(utcnow() + timedelta(minutes=5)):  # past the retry delay
            senders = [threading.Thread(target=sender) for _ in range(2)]
            for thread in senders:
                thread.start()
            for thread in senders:
                thread.join()
    finally:
        server.stop()

    assert requested.status_code == 202
    assert "0 sent, 2 to retry" in down  # the registration's mail and the reset
    subjects = sorted(m["Subject"] for m in server.mailbox.to(account.email))
    assert subjects == ["Confirm your email address", "Reset your password"]
    assert outbox_rows(app) == 0


def test_a_sender_thread_delivers_as_soon_as_a_mail_is_queued(app, client, smtp, limits):
    limits(mail_poll_interval=30.0)
    with app.app_context():
        outbox.deliver_due()  # nothing yet
    sender = outbox.start_sender(app)
    try:
        client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD})
        deadline = time.monotonic() + 10
        while not smtp.mailbox.to("ada@example.com") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop()
        sender.join(10)

    assert len(smtp.mailbox.to("ada@example.com")) == 1


def test_without_smtp_mails_are_eml_files_and_their_link_is_logged(app, client, deliver, caplog):
    client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD})

    with caplog.at_level("INFO", logger="movies_auth.domain.mail_transport"):
        deliver()

    files = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert files
    assert b"ada@example.com" in files[-1].read_bytes()
    assert "#token=" in caplog.text


def test_used_and_expired_tokens_and_delivered_mails_are_not_kept(app, client, smtp, deliver, account, settings):
    deliver()
    assert outbox_rows(app) == 0
    assert row_count(app, LinkToken) == 1

    with time_machine.travel(utcnow() + settings.email_verification_ttl + timedelta(minutes=1)):
        deliver()

    assert row_count(app, LinkToken) == 0


# Bounds


def test_mails_to_one_address_are_limited_whichever_route_asks(client, account, limits):
    limits(mail_rate_limit_per_address="3 per hour")
    routes = ["password_reset", "users/email_verification", "password_reset"]

    statuses = [client.post(f"{API}/{route}", json={"email": account.email}).status_code for route in routes]
    fourth = client.post(f"{API}/password_reset", json={"email": account.email.upper()})
    elsewhere = client.post(f"{API}/password_reset", json={"email": "other@example.com"})

    assert statuses == [202, 202, 202]
    assert fourth.status_code == 429 and int(fourth.headers["Retry-After"]) > 0
    assert elsewhere.status_code == 202


def test_mails_asked_by_one_client_are_limited_and_redis_stays_bounded(app, client, limits):
    limits(mail_rate_limit_per_ip="5 per hour")
    redis = app.extensions["redis"]

    statuses = [
        client.post(f"{API}/password_reset", json={"email": f"victim{i}@example.com"}).status_code for i in range(20)
    ]

    assert statuses == [202] * 5 + [429] * 15
    assert outbox_rows(app) == 5
    # One counter for the client, one per address it was let mail: refused requests write nothing more.
    assert len(redis.keys("auth:rl*")) <= 6


def test_a_wrong_token_gets_a_clear_400_and_changes_nothing(app, client, account):
    forged = "A" * 43

    responses = [
        client.post(f"{API}/users/email_verification/confirm", json={"token": forged}),
        client.post(f"{API}/password_reset/confirm", json={"token": forged, "new_password": NEW_PASSWORD}),
        client.post(f"{API}/users/email_change/confirm", json={"token": forged}),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert all(r.json["errors"] == {"token": ["Invalid, already used, or expired."]} for r in responses)
    assert login(client, account.email).status_code == 200


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("password_reset", {}, "email"),
        ("password_reset", {"email": "not an email"}, "email"),
        ("password_reset", {"email": 5}, "email"),
        ("password_reset", {"email": "a@example.com", "extra": 1}, "extra"),
        ("users/email_verification", {"email": "a\x00@example.com"}, "email"),
        ("users/email_verification", {"email": "x" * 300 + "@example.com"}, "email"),
        ("users/email_verification/confirm", {}, "token"),
        ("users/email_verification/confirm", {"token": "short"}, "token"),
        ("users/email_verification/confirm", {"token": "A" * 42 + "!"}, "token"),
        ("users/email_verification/confirm", {"token": ["A" * 43]}, "token"),
        ("password_reset/confirm", {"token": "A" * 43}, "new_password"),
        ("password_reset/confirm", {"token": "A" * 43, "new_password": "short"}, "new_password"),
        ("password_reset/confirm", {"token": "A" * 10_000, "new_password": NEW_PASSWORD}, "token"),
        ("users/email_change/confirm", {"token": None}, "token"),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(app, client, route, body, field):
    response = client.post(f"{API}/{route}", json=body)

    assert response.status_code == 400
    assert field in response.json["errors"]
    assert outbox_rows(app) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "new_email"),
        ({"new_email": "not an email", "password": PASSWORD}, "new_email"),
        ({"new_email": "new@example.com"}, "password"),
        ({"new_email": "new@example.com", "password": "p" * 129}, "password"),
        ({"new_email": "ada@example.com", "password": PASSWORD}, "new_email"),  # the current one
    ],
)
def test_bad_email_changes_are_a_clear_400_and_write_nothing(app, client, account, body, field):
    response = client.post(f"{API}/users/{account.uuid}/email", json=body, headers=account.headers)

    assert response.status_code == 400
    assert field in response.json["errors"]
    assert outbox_rows(app) == 1  # the registration's only


def test_non_json_bodies_are_refused(client):
    response = client.post(f"{API}/password_reset", data="email=a@example.com")

    assert response.status_code == 400
    assert "JSON" in response.json["msg"]


# The admin surface and the spec


def test_users_show_and_list_tell_whether_the_email_is_verified(app, client, smtp, deliver, account):
    deliver()
    client.post(f"{API}/users/email_verification/confirm", json={"token": smtp.mailbox.token_for(account.email)})
    runner = app.test_cli_runner()

    shown = runner.invoke(args=["users", "show", account.email]).output
    listed = runner.invoke(args=["users", "list", "--json"]).output

    assert "email verified" in shown and "yes" in shown
    assert '"email_verified": true' in listed


def test_swagger_documents_every_route(client):
    paths = client.get("/auth/apispec.json").json["paths"]

    for path in (
        "/auth/api/v1/users/email_verification",
        "/auth/api/v1/users/email_verification/confirm",
        "/auth/api/v1/password_reset",
        "/auth/api/v1/password_reset/confirm",
        "/auth/api/v1/users/{user_id}/email",
        "/auth/api/v1/users/email_change/confirm",
    ):
        operation = paths[path]["post"]
        assert "requestBody" in operation, path
        assert {"400", "429"} <= set(operation["responses"]), path


def test_users_are_unverified_until_they_confirm(app, account):
    with app.app_context():
        assert db.session.get(User, uuid.UUID(account.uuid)).email_verified is False
