"""The account endpoints: owner or superuser only, and the changes each one makes."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete

from auth_support import API, PASSWORD, bearer, login, row_count
from movies_auth import create_app
from movies_auth.extensions import db
from movies_auth.models import LoginAttempt, User

VALIDATION = f"{API}/auth_token/validation"
UNKNOWN_ID = "7a1e7e1c-0000-4000-8000-000000000000"


def user_url(user_id: str, suffix: str = "") -> str:
    return f"{API}/users/{user_id}{suffix}"


def stored_user(app, user_id: str) -> User | None:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        if user is not None:
            db.session.refresh(user, ["roles"])  # loaded now: the caller reads it after the session is gone
        return user


# Who may call


ROUTES = [
    ("get", ""),
    ("patch", ""),
    ("delete", ""),
    ("post", "/password"),
    ("get", "/logins"),
]


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
@pytest.mark.parametrize("target", ["other user", "unknown id", "malformed id", "zero", "negative"])
def test_a_stranger_gets_403_whether_or_not_the_account_exists(
    app, client, account, make_account, method, suffix, target
):
    other = make_account("grace@example.com")
    user_id = {
        "other user": other.uuid,
        "unknown id": UNKNOWN_ID,
        "malformed id": "not-a-uuid",
        "zero": "0",
        "negative": "-1",
    }[target]

    response = getattr(client, method)(user_url(user_id, suffix), headers=account.headers, json={})

    assert response.status_code == 403
    assert response.json == {"msg": "You may only access your own account"}
    assert stored_user(app, other.uuid) is not None


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_every_account_route_needs_a_token(client, account, method, suffix):
    response = getattr(client, method)(user_url(account.uuid, suffix), json={})

    assert response.status_code == 401
    assert response.json == {"msg": "Missing Authorization Header"}


def test_the_owner_reads_their_account(client, account):
    response = client.get(user_url(account.uuid), headers=account.headers)

    assert response.status_code == 200
    assert response.json == {
        "uuid": account.uuid,
        "email": account.email,
        "first_name": None,
        "last_name": None,
        "email_verified": False,
    }


def test_the_owner_may_spell_their_id_in_upper_case(client, account):
    assert client.get(user_url(account.uuid.upper()), headers=account.headers).status_code == 200


def test_a_superuser_reads_any_account_and_gets_404_for_unknown_ones(client, account, superuser):
    assert client.get(user_url(account.uuid), headers=superuser.headers).json["email"] == account.email
    for missing in (UNKNOWN_ID, "not-a-uuid"):
        response = client.get(user_url(missing), headers=superuser.headers)
        assert response.status_code == 404
        assert response.json == {"msg": "User not found"}


def test_a_revoked_token_cannot_read_the_account(client, account):
    client.delete(f"{API}/auth_token", headers=account.headers)

    assert client.get(user_url(account.uuid), headers=account.headers).status_code == 401


# PATCH


def test_the_owner_updates_names(app, client, account):
    response = client.patch(
        user_url(account.uuid), headers=account.headers, json={"first_name": "Ada", "last_name": "Lovelace"}
    )

    assert response.status_code == 200
    assert response.json == {
        "uuid": account.uuid,
        "email": account.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_verified": False,
    }


def test_names_can_be_cleared(client, account):
    client.patch(user_url(account.uuid), headers=account.headers, json={"first_name": "Ada"})

    response = client.patch(user_url(account.uuid), headers=account.headers, json={"first_name": None})

    assert response.json["first_name"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "new password!"}, "password"),
        ({"password_hash": "x"}, "password_hash"),
        ({"uuid": UNKNOWN_ID}, "uuid"),
        ({"id": UNKNOWN_ID}, "id"),
        ({"roles": ["superuser"]}, "roles"),
        ({"is_superuser": True}, "is_superuser"),
        ({"permissions": ["all_all"]}, "permissions"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"email": "countess@example.com"}, "email"),  # changed by POST /users/{id}/email, confirmed by mail
        ({"email": "not an email"}, "email"),
        ({"email": None}, "email"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"first_name": "tab\tinside"}, "first_name"),
        ({"last_name": 7}, "last_name"),
        ({"first_name": "Ada", "role": "admin"}, "role"),
    ],
)
def test_unknown_privileged_or_invalid_fields_are_refused_and_change_nothing(app, client, account, body, field):
    response = client.patch(user_url(account.uuid), headers=account.headers, json=body)

    assert response.status_code == 400
    assert field in response.json["errors"]
    user = stored_user(app, account.uuid)
    assert (user.email, user.first_name, user.last_name) == (account.email, None, None)
    assert [role.name for role in user.roles] == []


# DELETE


def test_deleting_the_account_kills_its_tokens_and_its_data(app, client, account):
    login(client, account.email)  # a login-history row that must go with the account

    response = client.delete(user_url(account.uuid), headers=account.headers)

    assert response.status_code == 204
    assert stored_user(app, account.uuid) is None
    assert row_count(app, LoginAttempt) == 0
    assert client.get(VALIDATION, headers=account.headers).status_code == 401
    assert client.post(f"{API}/auth_token/token_refresh", headers=bearer(account.refresh_token)).status_code == 401
    assert login(client, account.email).status_code == 401


def test_a_deleted_accounts_refresh_token_is_refused_even_if_its_revocation_was_lost(app, client, account):
    with app.app_context():  # deleted behind the service's back: no revocation reached Redis
        db.session.execute(delete(User).where(User.id == uuid.UUID(account.uuid)))
        db.session.commit()

    response = client.post(f"{API}/auth_token/token_refresh", headers=bearer(account.refresh_token))

    assert response.status_code == 401
    assert response.json == {"msg": "The account no longer exists"}


def test_a_superuser_deletes_another_account(app, client, account, superuser):
    assert client.delete(user_url(account.uuid), headers=superuser.headers).status_code == 204
    assert stored_user(app, account.uuid) is None
    assert client.get(VALIDATION, headers=superuser.headers).status_code == 200


# Password change


def change_password(client, account, old: str = PASSWORD, new: str = "a brand new passphrase", headers=None):
    return client.post(
        user_url(account.uuid, "/password"),
        headers=headers or account.headers,
        json={"old_password": old, "new_password": new},
    )


def test_changing_the_password_keeps_this_session_and_kills_the_others(client, account):
    other_session = login(client, account.email).json

    response = change_password(client, account)

    assert response.status_code == 204
    assert client.get(VALIDATION, headers=account.headers).status_code == 200
    assert client.post(f"{API}/auth_token/token_refresh", headers=bearer(account.refresh_token)).status_code == 200
    assert client.get(VALIDATION, headers=bearer(other_session["access_token"])).status_code == 401
    assert login(client, account.email).status_code == 401
    assert login(client, account.email, "a brand new passphrase").status_code == 200


def test_a_wrong_old_password_is_refused_and_changes_nothing(client, account):
    response = change_password(client, account, old="not my password")

    assert response.status_code == 400
    assert response.json["msg"] == "Old password is incorrect"
    assert login(client, account.email).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"old_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"old_password": PASSWORD, "new_password": "y" * 129}, "new_password"),
        ({"old_password": PASSWORD}, "new_password"),
        ({"new_password": "a brand new passphrase"}, "old_password"),
        ({"old_password": PASSWORD, "new_password": 123456789}, "new_password"),
    ],
)
def test_an_invalid_new_password_is_refused_and_changes_nothing(client, account, body, field):
    response = client.post(user_url(account.uuid, "/password"), headers=account.headers, json=body)

    assert response.status_code == 400
    assert field in response.json["errors"]
    assert login(client, account.email).status_code == 200


# Login history


def test_login_history_lists_attempts_newest_first(client, account):
    login(client, account.email, "wrong password!", headers={"User-Agent": "curl/8.0"})
    login(client, account.email, headers={"User-Agent": "Firefox/130"})

    response = client.get(user_url(account.uuid, "/logins"), headers=account.headers)

    assert response.status_code == 200
    page = response.json
    assert (page["page_number"], page["page_size"], page["total"]) == (1, 50, 3)
    assert [item["success"] for item in page["items"]] == [True, False, True]
    assert [item["user_agent"] for item in page["items"][:2]] == ["Firefox/130", "curl/8.0"]
    newest = page["items"][0]
    assert set(newest) == {"uuid", "time", "ip_address", "user_agent", "success"}
    assert newest["ip_address"] == "127.0.0.1"
    times = [item["time"] for item in page["items"]]
    assert times == sorted(times, reverse=True)


def test_login_history_pages(client, account):
    for _ in range(4):
        login(client, account.email)

    first = client.get(user_url(account.uuid, "/logins?page_size=2"), headers=account.headers).json
    third = client.get(user_url(account.uuid, "/logins?page_size=2&page_number=3"), headers=account.headers).json
    beyond = client.get(user_url(account.uuid, "/logins?page_size=2&page_number=9"), headers=account.headers).json

    assert (len(first["items"]), first["total"]) == (2, 5)
    assert (len(third["items"]), third["page_number"]) == (1, 3)
    assert beyond["items"] == [] and beyond["total"] == 5


def test_login_history_shows_only_the_owners_attempts(client, account, make_account):
    other = make_account("grace@example.com")
    login(client, other.email, "wrong password!")

    page = client.get(user_url(account.uuid, "/logins"), headers=account.headers).json

    assert page["total"] == 1


@pytest.mark.parametrize("query", ["page_size=0", "page_size=101", "page_size=abc", "page_number=0", "page_number=-1"])
def test_bad_paging_is_refused(client, account, query):
    response = client.get(user_url(account.uuid, f"/logins?{query}"), headers=account.headers)

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(settings, account):
    proxied = create_app(settings.model_copy(update={"trusted_proxies": 1}))
    client = proxied.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}

    assert login(client, account.email, headers=forwarded).status_code == 200

    newest = client.get(user_url(account.uuid, "/logins"), headers=account.headers).json["items"][0]
    # One trusted proxy: the address it saw (the last hop), never what the client claimed before it.
    assert newest["ip_address"] == "198.51.100.7"


@pytest.mark.parametrize(
    "forwarded",
    ["x" * 100, "not an address", "1.2.3.4.5", "203.0.113.9:80", "<script>", "999.1.1.1", "1.1.1.1 x", ""],
)
def test_a_forwarded_address_that_is_no_ip_address_falls_back_to_the_peer(settings, client, account, forwarded):
    proxied = create_app(settings.model_copy(update={"trusted_proxies": 1})).test_client()

    response = login(proxied, account.email, headers={"X-Forwarded-For": forwarded})

    assert response.status_code == 200
    newest = client.get(user_url(account.uuid, "/logins"), headers=account.headers).json["items"][0]
    assert newest["ip_address"] == "127.0.0.1"


def test_a_forwarded_address_is_kept_in_its_canonical_spelling(settings, client, account):
    proxied = create_app(settings.model_copy(update={"trusted_proxies": 1})).test_client()

    login(proxied, account.email, headers={"X-Forwarded-For": "2001:DB8:0:0:0:0:0:1"})

    newest = client.get(user_url(account.uuid, "/logins"), headers=account.headers).json["items"][0]
    assert newest["ip_address"] == "2001:db8::1"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(client, account):
    login(client, account.email, headers={"X-Forwarded-For": "203.0.113.9"})

    newest = client.get(user_url(account.uuid, "/logins"), headers=account.headers).json["items"][0]
    assert newest["ip_address"] == "127.0.0.1"
