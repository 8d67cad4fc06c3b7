"""The audit trail: every security event is one structured line with the request id and who acted, and no
line ever holds a password, a secret or a token."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest

from auth_support import API, PASSWORD, bearer, login, register
from movies_auth.domain.built_ins import ADMIN_PERMISSION

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


@pytest.fixture
def trail(caplog):
    """The audit events written so far, as dicts: `trail("req-1")` is those of request `req-1`."""
    caplog.set_level(logging.INFO)

    def events(request_id: str | None = None) -> list[dict]:
        found = []
        for record in caplog.records:
            if record.name != "movies_auth.audit":
                continue
            fields = {key: json.loads(value) if value.startswith('"') else value
                      for key, value in _FIELD.findall(record.getMessage())}  # fmt: skip
            fields["level"], fields["request_id"] = record.levelname, getattr(record, "request_id", "-")
            if request_id is None or fields["request_id"] == request_id:
                found.append(fields)
        return found

    return events


def traced(request_id: str, headers: dict | None = None) -> dict:
    return {"X-Request-Id": request_id, **(headers or {})}


def only(events: list[dict]) -> dict:
    assert len(events) == 1, events
    return events[0]


def test_an_account_s_life_is_audited_with_request_ids_and_actors(client, trail):
    created = client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD},
                          headers=traced("r-register"))  # fmt: skip
    user_id = created.json["uuid"]
    me = f"user:{user_id}"
    login(client, "ada@example.com", "not the password", headers=traced("r-fail"))
    tokens = login(client, "ada@example.com", headers=traced("r-login")).json
    headers = bearer(tokens["access_token"])
    client.patch(f"{API}/users/{user_id}", json={"first_name": "Ada"}, headers=traced("r-patch", headers))
    client.post(f"{API}/users/{user_id}/password", json={"old_password": PASSWORD, "new_password": "a new one 123"},
                headers=traced("r-password", headers))  # fmt: skip
    client.delete(f"{API}/auth_token", headers=traced("r-logout", headers))
    again = login(client, "ada@example.com", "a new one 123").json
    client.delete(f"{API}/auth_token/all", headers=traced("r-all", bearer(again["access_token"])))
    last = login(client, "ada@example.com", "a new one 123").json
    client.delete(f"{API}/users/{user_id}", headers=traced("r-delete", bearer(last["access_token"])))

    expected = {
        "r-register": {"event": "user_registered", "actor": "anonymous", "user_id": user_id},
        "r-fail": {"event": "login_failed", "level": "WARNING", "user_id": user_id, "ip": "127.0.0.1"},
        "r-login": {"event": "login_succeeded", "user_id": user_id, "ip": "127.0.0.1"},
        "r-patch": {"event": "user_updated", "actor": me, "user_id": user_id, "fields": "first_name"},
        "r-password": {"event": "password_changed", "actor": me, "user_id": user_id},
        "r-logout": {"event": "logout", "actor": me, "user_id": user_id},
        "r-all": {"event": "logout_all", "level": "WARNING", "actor": me, "user_id": user_id},
        "r-delete": {"event": "user_deleted", "level": "WARNING", "actor": me, "user_id": user_id},
    }
    for request_id, fields in expected.items():
        event = only(trail(request_id))
        assert event | fields == event, (request_id, event)


def test_a_failed_login_for_an_unknown_email_names_no_user(client, trail):
    login(client, "nobody@example.com", headers=traced("r-unknown"))

    event = only(trail("r-unknown"))
    assert (event["event"], event["user_id"]) == ("login_failed", "-")
    assert "nobody" not in json.dumps(trail())


def test_a_lockout_and_a_rate_limit_are_audited(client, account, limits, trail):
    limits(login_free_failures=1, login_failure_delay=timedelta(minutes=1))
    login(client, account.email, "wrong password!")
    login(client, account.email, "wrong password!", headers=traced("r-locked"))
    limits(register_rate_limit_per_ip="1 per minute")
    register(client, "one@example.com")
    client.post(f"{API}/users", json={"email": "two@example.com", "password": PASSWORD}, headers=traced("r-limited"))

    locked = only(trail("r-locked"))
    assert locked | {"event": "login_locked_out", "level": "WARNING", "ip": "127.0.0.1"} == locked
    assert len(locked["account"]) == 16 and account.email not in locked["account"]
    limited = only(trail("r-limited"))
    assert limited | {"event": "rate_limited", "limit": "1 per 1 minute", "path": f"{API}/users"} == limited


def test_reuse_of_a_refresh_token_is_audited(client, account, trail):
    rotated = client.post(f"{API}/auth_token/token_refresh", headers=bearer(account.refresh_token)).json
    client.post(f"{API}/auth_token/token_refresh", headers=bearer(rotated["refresh_token"]))
    # Two generations back: past any grace.
    client.post(f"{API}/auth_token/token_refresh", headers=traced("r-reuse", bearer(account.refresh_token)))

    reuse = only(trail("r-reuse"))
    assert reuse | {"event": "refresh_reuse_detected", "level": "WARNING", "user_id": account.uuid} == reuse


def test_every_change_to_roles_permissions_and_grants_names_the_admin(client, admin, account, trail):
    steps = [
        ("post", "/permissions", {"name": "beta", "description": "Beta"}, {"event": "permission_created"}),
        ("patch", "/permissions/beta", {"description": "Beta films"}, {"event": "permission_updated"}),
        ("post", "/roles", {"name": "tester"}, {"event": "role_created", "role": "tester"}),
        ("patch", "/roles/tester", {"name": "beta_tester"}, {"event": "role_updated", "role": "beta_tester"}),
        ("post", "/roles/beta_tester/permissions", {"name": "beta"}, {"event": "role_permission_granted"}),
        ("post", f"/users/{account.uuid}/roles", {"name": "beta_tester"}, {"event": "user_role_granted"}),
        ("post", f"/users/{account.uuid}/permissions", {"name": "beta"}, {"event": "user_permission_granted"}),
        ("delete", f"/users/{account.uuid}/permissions/beta", None, {"event": "user_permission_revoked"}),
        ("delete", f"/users/{account.uuid}/roles/beta_tester", None, {"event": "user_role_revoked"}),
        ("delete", "/roles/beta_tester/permissions/beta", None, {"event": "role_permission_revoked"}),
        ("delete", "/roles/beta_tester", None, {"event": "role_deleted", "level": "WARNING"}),
        ("delete", "/permissions/beta", None, {"event": "permission_deleted", "level": "WARNING"}),
    ]
    for number, (method, path, body, fields) in enumerate(steps):
        response = client.open(f"{API}{path}", method=method.upper(), json=body,
                               headers=traced(f"r-{number}", admin.headers))  # fmt: skip
        assert response.status_code < 300, (path, response.json)
        event = only(trail(f"r-{number}"))
        assert event | fields | {"actor": f"user:{admin.uuid}"} == event, (path, event)
    assert trail("r-1")[0]["fields"] == "description"
    assert trail("r-5")[0] | {"user_id": account.uuid, "role": "beta_tester"} == trail("r-5")[0]
    assert trail("r-4")[0] | {"role": "beta_tester", "permission": "beta"} == trail("r-4")[0]


def test_a_change_that_does_nothing_writes_no_event(client, admin, account, trail):
    client.post(f"{API}/users/{account.uuid}/permissions", json={"name": ADMIN_PERMISSION}, headers=admin.headers)
    client.post(f"{API}/users/{account.uuid}/permissions", json={"name": ADMIN_PERMISSION},
                headers=traced("r-again", admin.headers))  # fmt: skip

    assert trail("r-again") == []


def test_admin_commands_are_audited_as_the_cli(app, account, trail):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["permissions", "create", "beta"]).exit_code == 0
    assert runner.invoke(args=["users", "logout", account.email, "--yes"]).exit_code == 0

    events = [(event["event"], event["actor"]) for event in trail()]
    assert ("permission_created", "cli") in events
    assert ("logout_all", "cli") in events


def test_a_refused_service_is_audited(client, trail):
    client.post(f"{API}/service_token", json={"service_name": "nope", "secret": "x" * 40}, headers=traced("r-svc"))

    event = only(trail("r-svc"))
    assert event | {"event": "service_token_refused", "level": "WARNING", "service": "-"} == event


def test_the_trail_never_holds_a_password_or_a_token(client, make_account, caplog):
    caplog.set_level(logging.DEBUG)
    ada = make_account("ada@example.com", "ada's secret password")
    login(client, ada.email, "a wrong secret password")
    client.post(f"{API}/users/{ada.uuid}/password",
                json={"old_password": "ada's secret password", "new_password": "ada's next password"},
                headers=ada.headers)  # fmt: skip
    client.post(f"{API}/auth_token/token_refresh", headers=bearer(ada.refresh_token))
    client.post(f"{API}/auth_token/token_refresh", headers=bearer(ada.refresh_token))
    client.delete(f"{API}/auth_token/all", headers=ada.headers)

    for secret in ("ada's secret password", "a wrong secret password", "ada's next password",
                   ada.access_token, ada.refresh_token, ada.access_token.split(".")[2]):  # fmt: skip
        assert secret not in caplog.text


def test_a_wrong_old_password_is_audited(client, account, trail):
    client.post(
        f"{API}/users/{account.uuid}/password",
        headers={**bearer(account.access_token), **traced("r-guess")},
        json={"old_password": "not my password", "new_password": "a brand new passphrase"},
    )

    event = only(trail("r-guess"))
    assert event | {"event": "password_change_failed", "level": "WARNING", "user_id": account.uuid} == event
    assert "not my password" not in json.dumps(trail())
