"""Sessions as records: bounded state, the refresh grace window, the per-session rate limit, the session limit,
the device list and its CLI, and what becomes of tokens minted before sessions were records."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest

from auth_support import (
    API,
    bearer,
    claims_of,
    login,
    refresh,
    row_count,
    script_registrations,
    service_token,
    validate,
)
from movies_auth.domain import sessions
from movies_auth.domain.tokens import TOKEN_PREDATES_SESSIONS
from movies_auth.models import UserSession
from movies_auth.stores import redis_keys

VALIDATION = f"{API}/auth_token/validation"
REFRESH = f"{API}/auth_token/token_refresh"
LOGOUT = f"{API}/auth_token"
LOGOUT_ALL = f"{API}/auth_token/all"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)


def sessions_url(user_id: str, session_id: str | None = None) -> str:
    return f"{API}/users/{user_id}/sessions" + (f"/{session_id}" if session_id else "")


def session_of(token: str) -> str:
    return claims_of(token)["sid"]


def user_keys(redis, user_id: str) -> dict[str, int]:
    """Every key about the user but rate-limit counters, with its MEMORY USAGE."""
    return {
        key: redis.memory_usage(key, samples=0)
        for key in redis.scan_iter(match=f"auth:*{{{user_id}}}*", count=1000)
        if not key.startswith(redis_keys.RATE_LIMIT_PREFIX)
    }


def stored_keys(redis) -> int:
    """How many keys Redis holds, rate-limit counters aside (each lives for its window only)."""
    return sum(1 for key in redis.scan_iter(count=1000) if not key.startswith("LIMITS:"))


# Bounded state


def test_two_thousand_refreshes_add_no_key_and_no_byte(app, client, account, settings, limits):
    if not settings.redis_url:
        pytest.skip("MEMORY USAGE needs a real Redis (CI sets REDIS_URL)")
    limits(refresh_rate_limit_per_session="1000000 per minute")
    redis = app.extensions["redis"]
    token = refresh(client, account.refresh_token).json["refresh_token"]
    keys_before, count_before = user_keys(redis, account.uuid), stored_keys(redis)

    for _ in range(2_000):
        answer = refresh(client, token)
        assert answer.status_code == 200, answer.json
        token = answer.json["refresh_token"]

    assert user_keys(redis, account.uuid) == keys_before  # the same keys, each of the same size
    assert stored_keys(redis) == count_before
    assert sorted(key.split(":")[1] for key in keys_before) == ["s", "sp", "us"]
    assert row_count(app, UserSession) == 1


def test_a_session_ended_by_logout_leaves_nothing_behind(app, client, account):
    redis = app.extensions["redis"]
    refresh(client, account.refresh_token)

    assert client.delete(LOGOUT, headers=account.headers).status_code == 204

    assert user_keys(redis, account.uuid) == {}
    assert row_count(app, UserSession) == 0


def test_every_key_of_a_user_shares_one_hash_slot(app, client, account, limits):
    limits(refresh_rate_limit_per_session="5 per minute")
    refresh(client, account.refresh_token)  # a session, its grace pair, the index, a rate-limit counter
    client.get(f"{API}/users/{account.uuid}/combined_permissions", headers=account.headers)  # permission cache
    client.post(f"{API}/users/{account.uuid}/roles", json={"name": "subscriber"}, headers=account.headers)
    login(client, account.email)
    client.delete(LOGOUT_ALL, headers=account.headers)  # the epoch

    redis = app.extensions["redis"]
    keys = [key for key in redis.scan_iter(count=1000) if account.uuid in key]
    kinds = {key.split(":")[1].split("/")[0] for key in keys if key.startswith("auth:")}
    assert {"s", "sp", "us", "ue", "up"} <= kinds
    assert any(redis_keys.RATE_LIMIT_PREFIX in key for key in keys)
    assert {key[key.index("{") + 1 : key.index("}")] for key in keys} == {account.uuid}


# The scripts behind sessions


def sign_in_refresh_and_list(client, account) -> None:
    """A sign-in (the session and failed-login scripts), a refresh, a sign-out and the device list: all answer."""
    tokens = login(client, account.email).json
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    assert client.delete(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    assert client.get(sessions_url(account.uuid), headers=account.headers).status_code == 200


def test_each_script_is_registered_once_with_the_apps_redis_client(app, client, account, monkeypatch):
    sign_in_refresh_and_list(client, account)
    registered = script_registrations(monkeypatch, app)

    for _ in range(3):
        sign_in_refresh_and_list(client, account)

    assert registered == []


def test_scripts_redis_has_forgotten_are_loaded_again(app, client, account):
    # A restarted Redis, or a replica promoted in a failover, holds none of the scripts the service registered.
    sign_in_refresh_and_list(client, account)
    app.extensions["redis"].script_flush()

    sign_in_refresh_and_list(client, account)


# Refresh grace


def test_the_token_just_exchanged_answers_the_very_same_pair_within_the_window(client, account):
    first = refresh(client, account.refresh_token)

    again = refresh(client, account.refresh_token)

    assert again.status_code == 200
    assert again.data == first.data  # byte for byte
    assert validate(client, again.json["access_token"]).status_code == 200
    assert refresh(client, again.json["refresh_token"]).status_code == 200


def test_twenty_concurrent_refreshes_of_one_token_all_get_the_same_pair(app, account, limits):
    limits(refresh_rate_limit_per_session="10 per minute")  # the default: answers of the grace window are free

    def attempt(_: int):
        return refresh(app.test_client(), account.refresh_token)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))

    assert [answer.status_code for answer in answers] == [200] * 20
    assert len({answer.data for answer in answers}) == 1
    pair = answers[0].json
    client = app.test_client()
    assert validate(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_past_the_window_the_token_just_exchanged_kills_the_session(app, client, account, limits, caplog):
    limits(jwt_refresh_grace_seconds=1)
    other = login(client, account.email).json
    pair = refresh(client, account.refresh_token).json
    time.sleep(1.2)

    replay = refresh(client, account.refresh_token)

    assert replay.status_code == 401
    assert replay.json == {"msg": "Refresh token has already been used; the session has been revoked"}
    assert validate(client, pair["access_token"]).json == {"msg": "Token has been revoked"}
    assert refresh(client, pair["refresh_token"]).status_code == 401
    assert validate(client, other["access_token"]).status_code == 200
    assert "event=refresh_reuse_detected" in caplog.text


def test_with_no_grace_a_second_exchange_is_reuse(client, account, limits):
    limits(jwt_refresh_grace_seconds=0)
    pair = refresh(client, account.refresh_token).json
    time.sleep(0.01)

    assert refresh(client, account.refresh_token).status_code == 401
    assert validate(client, pair["access_token"]).status_code == 401


# The per-session refresh limit


def test_refreshes_are_limited_per_session_with_retry_after(client, account, limits):
    limits(refresh_rate_limit_per_session="3 per minute")
    other = login(client, account.email).json
    token = account.refresh_token
    for _ in range(3):
        token = refresh(client, token).json["refresh_token"]

    limited = refresh(client, token)

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many requests" in limited.json["msg"]
    assert refresh(client, other["refresh_token"]).status_code == 200  # another session is not held back
    limits(refresh_rate_limit_per_session="10 per minute")
    assert refresh(client, token).status_code == 200  # the refused exchange used nothing up


# The session limit


def test_a_sign_in_beyond_the_limit_ends_the_least_recently_used_session(app, client, account, limits, caplog):
    limits(max_sessions_per_user=3)
    second, third = login(client, account.email).json, login(client, account.email).json
    refreshed_first = refresh(client, account.refresh_token).json  # the first is now the most recently used

    fourth = login(client, account.email).json

    assert validate(client, second["access_token"]).json == {"msg": "Token has been revoked"}
    assert refresh(client, second["refresh_token"]).status_code == 401
    for alive in (refreshed_first, third, fourth):
        assert validate(client, alive["access_token"]).status_code == 200
    listed = client.get(sessions_url(account.uuid), headers=bearer(fourth["access_token"])).json
    assert [s["session_id"] for s in listed] == [
        session_of(t["access_token"]) for t in (fourth, refreshed_first, third)
    ]
    assert row_count(app, UserSession) == 3
    assert (
        f"event=session_evicted actor=anonymous user_id={account.uuid} session={session_of(second['access_token'])}"
        in caplog.text
    )


def test_sessions_ended_elsewhere_do_not_count_against_the_limit(client, account, limits):
    limits(max_sessions_per_user=2)
    client.delete(LOGOUT_ALL, headers=account.headers)
    first, second = login(client, account.email).json, login(client, account.email).json

    assert validate(client, first["access_token"]).status_code == 200
    assert validate(client, second["access_token"]).status_code == 200


# Logout with a used refresh token


def test_logout_everywhere_with_a_used_refresh_token_is_refused(client, account, make_account):
    pair = refresh(client, account.refresh_token).json
    other = login(client, account.email).json

    refused = client.delete(LOGOUT_ALL, headers=bearer(account.refresh_token))

    assert refused.status_code == 401
    assert refused.json == {"msg": "Token has been revoked"}
    for alive in (pair, other):
        assert validate(client, alive["access_token"]).status_code == 200
    assert client.delete(LOGOUT_ALL, headers=bearer(pair["refresh_token"])).status_code == 204
    assert validate(client, other["access_token"]).status_code == 401


def test_logout_with_a_used_refresh_token_is_refused(client, account):
    pair = refresh(client, account.refresh_token).json

    assert client.delete(LOGOUT, headers=bearer(account.refresh_token)).status_code == 401

    assert validate(client, pair["access_token"]).status_code == 200


# Tokens minted before sessions were records


def old_format(app, token: str) -> str:
    """The token as the previous release minted it: an epoch claim, no generation, no session record."""
    claims = claims_of(token)
    claims.pop("gen", None)
    claims.update(sid="O1dSessionIdFromBefore", ep=0, jti=str(uuid.uuid4()))
    key = app.extensions["key_ring"].snapshot.signing_key
    return pyjwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def test_tokens_minted_before_the_upgrade_are_refused_with_a_clear_401(app, client, account):
    access, refresh_token = old_format(app, account.access_token), old_format(app, account.refresh_token)
    expected = (401, {"msg": TOKEN_PREDATES_SESSIONS})

    for answer in (
        validate(client, access),
        refresh(client, refresh_token),
        client.delete(LOGOUT, headers=bearer(access)),
        client.delete(LOGOUT_ALL, headers=bearer(refresh_token)),
        client.get(sessions_url(account.uuid), headers=bearer(access)),
    ):
        assert (answer.status_code, answer.json) == expected
    assert validate(client, account.access_token).status_code == 200  # today's tokens are untouched


# The device list


@pytest.fixture
def devices(client, account):
    """The account's fixture session, plus a phone and a desktop session: their token pairs."""
    phone = login(client, account.email, headers={"User-Agent": IPHONE}).json
    desktop = login(client, account.email, headers={"User-Agent": WINDOWS_CHROME}).json
    return {"fixture": {"access_token": account.access_token}, "phone": phone, "desktop": desktop}


def test_the_owner_lists_live_sessions_most_recent_first(client, account, devices):
    client.delete(LOGOUT, headers=bearer(devices["fixture"]["access_token"]))
    refresh(client, devices["phone"]["refresh_token"])

    response = client.get(sessions_url(account.uuid), headers=bearer(devices["desktop"]["access_token"]))

    assert response.status_code == 200
    phone, desktop = response.json
    assert set(phone) == {
        "session_id", "created_at", "last_used_at", "ip_address", "user_agent", "device", "method", "current",
    }  # fmt: skip
    assert phone["session_id"] == session_of(devices["phone"]["access_token"])
    assert phone["device"] == {"kind": "mobile", "os": "iOS 17", "browser": "Mobile Safari 17"}
    assert desktop["device"] == {"kind": "desktop", "os": "Windows 10", "browser": "Chrome 120"}
    assert (phone["current"], desktop["current"]) == (False, True)
    assert phone["method"] == desktop["method"] == "password"
    assert phone["ip_address"] == "127.0.0.1" and phone["user_agent"] == IPHONE
    assert phone["last_used_at"] > phone["created_at"]


def test_another_user_may_not_see_or_end_sessions_whether_or_not_the_account_exists(client, account, make_account):
    other = make_account("grace@example.com")
    for user_id in (account.uuid, str(uuid.uuid4())):
        for method, url in (
            ("get", sessions_url(user_id)),
            ("delete", sessions_url(user_id)),
            ("delete", sessions_url(user_id, session_of(account.access_token))),
        ):
            answer = getattr(client, method)(url, headers=other.headers)
            assert answer.status_code == 403, (method, url)
            assert answer.json == {"msg": "You may only access your own account"}
    assert validate(client, account.access_token).status_code == 200


def test_a_superuser_lists_and_ends_another_users_sessions(client, account, superuser, devices):
    listed = client.get(sessions_url(account.uuid), headers=superuser.headers)
    assert listed.status_code == 200
    assert len(listed.json) == 3 and not any(session["current"] for session in listed.json)

    phone = session_of(devices["phone"]["access_token"])
    assert client.delete(sessions_url(account.uuid, phone), headers=superuser.headers).status_code == 204
    assert validate(client, devices["phone"]["access_token"]).status_code == 401
    assert validate(client, devices["desktop"]["access_token"]).status_code == 200

    assert client.delete(sessions_url(account.uuid), headers=superuser.headers).status_code == 204
    for pair in devices.values():
        assert validate(client, pair["access_token"]).status_code == 401
    assert validate(client, superuser.access_token).status_code == 200


def test_a_permissions_admin_is_not_enough(client, account, admin):
    assert client.get(sessions_url(account.uuid), headers=admin.headers).status_code == 403


def test_service_tokens_see_sessions_only_when_allowed(app, client, account, monkeypatch):
    token = service_token(app, client, "billing")
    assert client.get(sessions_url(account.uuid), headers=bearer(token)).status_code == 403
    assert client.delete(sessions_url(account.uuid), headers=bearer(token)).status_code == 403

    monkeypatch.setattr(app.extensions["settings"], "user_api_services", ["billing"])
    listed = client.get(sessions_url(account.uuid), headers=bearer(token))
    assert listed.status_code == 200
    assert [s["current"] for s in listed.json] == [False]
    own = session_of(account.access_token)
    assert client.delete(sessions_url(account.uuid, own), headers=bearer(token)).status_code == 204
    assert validate(client, account.access_token).status_code == 401


def test_ending_one_session_leaves_the_others_alive(client, account, devices):
    phone = session_of(devices["phone"]["access_token"])

    response = client.delete(sessions_url(account.uuid, phone), headers=account.headers)

    assert response.status_code == 204
    assert validate(client, devices["phone"]["access_token"]).json == {"msg": "Token has been revoked"}
    assert refresh(client, devices["phone"]["refresh_token"]).status_code == 401
    assert validate(client, devices["desktop"]["access_token"]).status_code == 200
    assert refresh(client, devices["desktop"]["refresh_token"]).status_code == 200
    assert validate(client, account.access_token).status_code == 200
    listed = client.get(sessions_url(account.uuid), headers=account.headers).json
    assert phone not in [s["session_id"] for s in listed]


@pytest.mark.parametrize(
    "session_id", ["A" * 22, "too-short", "x" * 5000, "..-..-etc-passwd-0123", "%7B" + "a" * 20, "ﬁ" * 22, "%00" * 22]
)
def test_an_unknown_or_malformed_session_is_404_and_changes_nothing(app, client, account, devices, session_id):
    keys_before = sorted(app.extensions["redis"].scan_iter(count=1000))

    response = client.delete(sessions_url(account.uuid, session_id), headers=account.headers)

    assert response.status_code == 404
    assert response.json == {"msg": "Session not found"}
    assert sorted(app.extensions["redis"].scan_iter(count=1000)) == keys_before
    assert row_count(app, UserSession) == 3


def test_another_users_session_id_is_not_found_in_this_account(client, account, make_account):
    other = make_account("grace@example.com")

    response = client.delete(sessions_url(account.uuid, session_of(other.access_token)), headers=account.headers)

    assert response.status_code == 404
    assert validate(client, other.access_token).status_code == 200


def test_signing_out_other_devices_keeps_the_callers_session(client, account, devices):
    response = client.delete(sessions_url(account.uuid), headers=bearer(devices["desktop"]["access_token"]))

    assert response.status_code == 204
    assert validate(client, devices["desktop"]["access_token"]).status_code == 200
    assert refresh(client, devices["desktop"]["refresh_token"]).status_code == 200
    for dead in (devices["phone"]["access_token"], account.access_token):
        assert validate(client, dead).status_code == 401
    listed = client.get(sessions_url(account.uuid), headers=bearer(devices["desktop"]["access_token"])).json
    assert [s["current"] for s in listed] == [True]


def test_device_list_rows_follow_the_sessions(app, client, account, devices):
    assert row_count(app, UserSession) == 3
    client.delete(sessions_url(account.uuid), headers=account.headers)
    assert row_count(app, UserSession) == 1
    client.delete(f"{API}/users/{account.uuid}", headers=account.headers)
    assert row_count(app, UserSession) == 0


def test_the_sessions_routes_are_documented(client):
    spec = client.get("/auth/apispec.json").json
    listing = spec["paths"]["/auth/api/v1/users/{user_id}/sessions"]
    one = spec["paths"]["/auth/api/v1/users/{user_id}/sessions/{session_id}"]
    assert set(listing) == {"get", "delete"} and set(one) == {"delete"}
    assert listing["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert {"403", "404"} <= set(one["delete"]["responses"])
    assert "429" in spec["paths"]["/auth/api/v1/auth_token/token_refresh"]["post"]["responses"]


# The CLI


def test_the_cli_lists_and_ends_sessions(app, client, account, devices, monkeypatch):
    runner = app.test_cli_runner()
    table = runner.invoke(args=["users", "sessions", account.email])
    assert table.exit_code == 0, table.output
    header, _, *rows = table.output.splitlines()
    assert header.split()[:3] == ["SESSION", "LAST", "USED"]
    assert len(rows) == 3 and "mobile / iOS 17 / Mobile Safari 17" in table.output

    listed = runner.invoke(args=["users", "sessions", account.email, "--json"])
    phone = session_of(devices["phone"]["access_token"])

    assert phone in [s["session_id"] for s in json.loads(listed.stdout)]

    ended = runner.invoke(args=["users", "end-session", account.email, phone])
    assert ended.exit_code == 0, ended.output
    assert validate(client, devices["phone"]["access_token"]).status_code == 401
    assert validate(client, devices["desktop"]["access_token"]).status_code == 200

    again = runner.invoke(args=["users", "end-session", account.email, phone])
    assert again.exit_code == 1
    assert f"has no live session {phone!r}" in again.output and "Traceback" not in again.output
    unknown = runner.invoke(args=["users", "sessions", "nobody@example.com"])
    assert unknown.exit_code == 1 and "No user with email or uuid" in unknown.output

    # An id may start with "-", and is pasted as it is listed.
    monkeypatch.setattr(sessions, "new_session_id", lambda: "-Dashed" + "x" * 15)
    dashed = login(client, account.email).json
    assert runner.invoke(args=["users", "end-session", account.email, "-Dashed" + "x" * 15]).exit_code == 0
    assert validate(client, dashed["access_token"]).status_code == 401
