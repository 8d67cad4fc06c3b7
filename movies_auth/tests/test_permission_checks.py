"""Permission checks: what other services ask on every request, answered from a cache that is never stale."""

from __future__ import annotations

import json
import uuid

import pytest
from flask import Flask

from auth_support import API, Account, bearer, combined_permissions, give, make_role
from movies_auth import create_app
from movies_auth.domain import accounts, grants, permission_cache, permissions, roles
from movies_auth.domain.conditions import all_of, any_of
from movies_auth.stores import redis_keys
from movies_auth.web.guards import permissions_required


def combined_path(user_id: str) -> str:
    return f"{API}/users/{user_id}/combined_permissions"


def check(client, account: Account, condition, *, user_id: str | None = None, caller: Account | None = None):
    """Ask whether `account` (or `user_id`) meets `condition`, as `caller` (by default the account itself)."""
    text = condition if isinstance(condition, str) else json.dumps(condition)
    return client.get(
        f"{combined_path(user_id or account.uuid)}/validation",
        query_string={"permissions": text},
        headers=(caller or account).headers,
    )


def is_valid(client, account: Account, condition) -> bool:
    response = check(client, account, condition)
    assert response.status_code == 200, response.json
    return response.json["valid"]


@pytest.fixture
def holder(app, make_account) -> Account:
    """A user holding `pro_read` through the subscriber role and `beta` directly."""
    user = make_account("holder@example.com")
    with app.app_context():
        permissions.create_permission("beta", "Beta features")
    give(app, user, role="subscriber", permission="beta")
    return user


# combined_permissions


def test_the_owner_sees_their_own_and_their_roles_permissions_once_each_by_name(app, client, holder):
    give(app, holder, permission="pro_read")  # also granted by the role

    response = client.get(combined_path(holder.uuid), headers=holder.headers)

    assert response.status_code == 200
    assert [p["name"] for p in response.json] == ["beta", "pro_read"]
    assert response.json[0] == {"uuid": response.json[0]["uuid"], "name": "beta", "description": "Beta features"}


def test_a_user_without_grants_has_no_permissions(client, account):
    assert combined_permissions(client, account) == []


@pytest.mark.parametrize("caller_fixture", ["admin", "superuser"])
def test_admins_see_anyones_permissions(request, client, holder, caller_fixture):
    caller = request.getfixturevalue(caller_fixture)

    response = client.get(combined_path(holder.uuid), headers=caller.headers)

    assert response.status_code == 200
    assert [p["name"] for p in response.json] == ["beta", "pro_read"]


@pytest.mark.parametrize("user_id", ["holder", pytest.param(str(uuid.uuid4()), id="unknown-uuid"), "not-a-uuid"])
def test_a_stranger_is_refused_whether_or_not_the_user_exists(client, holder, account, user_id):
    target = holder.uuid if user_id == "holder" else user_id

    listed = client.get(combined_path(target), headers=account.headers)
    checked = check(client, holder, "beta", user_id=target, caller=account)

    for response in (listed, checked):
        assert (response.status_code, response.json) == (403, {"msg": "You may only access your own account"})


@pytest.mark.parametrize("user_id", [pytest.param(str(uuid.uuid4()), id="unknown-uuid"), "not-a-uuid", "0"])
def test_an_admin_asking_about_an_unknown_user_gets_not_found(client, admin, user_id):
    listed = client.get(combined_path(user_id), headers=admin.headers)
    checked = check(client, admin, "beta", user_id=user_id, caller=admin)

    for response in (listed, checked):
        assert (response.status_code, response.json) == (404, {"msg": "User not found"})


def test_checks_need_a_valid_access_token(client, holder):
    anonymous = client.get(combined_path(holder.uuid))
    refresh = client.get(combined_path(holder.uuid), headers=bearer(holder.refresh_token))
    garbage = client.get(combined_path(holder.uuid), headers=bearer("not.a.token"))

    assert (anonymous.status_code, anonymous.json) == (401, {"msg": "Missing Authorization Header"})
    assert refresh.status_code == 422
    assert garbage.status_code == 422


# The condition grammar, for a holder of exactly {beta, pro_read}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("pro_read", True),
        ("permissions_admin", False),
        ('"beta"', True),
        ({"any": []}, False),
        ({"all": []}, True),
        ({"any": ["pro_read"]}, True),
        ({"any": ["nope", "beta"]}, True),
        ({"any": ["nope", "other"]}, False),
        ({"all": ["beta", "pro_read"]}, True),
        ({"all": ["beta", "nope"]}, False),
        ({"any": ["nope", {"all": ["beta", "pro_read"]}]}, True),
        ({"any": ["nope", {"all": ["beta", "nope"]}]}, False),
        ({"all": [{"any": ["nope", "beta"]}, {"any": ["pro_read"]}]}, True),
        ({"all": [{"any": []}, "beta"]}, False),
        ({"any": [{"all": []}]}, True),
    ],
)
def test_conditions(client, holder, condition, expected):
    assert is_valid(client, holder, condition) is expected


def nested(depth: int, leaf: object = "beta") -> object:
    condition = leaf
    for level in range(depth):
        condition = {"all" if level % 2 else "any": [condition]}
    return condition


def test_conditions_may_nest_eight_levels_and_name_a_hundred_permissions(client, holder):
    assert is_valid(client, holder, nested(8)) is True
    assert is_valid(client, holder, {"all": ["beta"] * 50 + ["pro_read"] * 50}) is True
    assert is_valid(client, holder, {"any": [f"p{n}" for n in range(100)]}) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"any": ["beta"]', "Condition is not valid JSON"),
        ("beta pro_read", "Condition is not valid JSON"),
        ("", "Condition is empty: send a permission name or a JSON condition"),
        ("  ", "Condition is empty"),
        ("42", 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ("{}", 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ('["beta"]', 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ('{"none": ["beta"]}', 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ('{"any": ["beta"], "all": []}', 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ('{"any": [1]}', 'A condition is a permission name, {"any": [...]} or {"all": [...]}'),
        ('{"any": "beta"}', '"any" takes a list of conditions'),
        ('{"all": {"beta": true}}', '"all" takes a list of conditions'),
        ('"Beta"', "Invalid permission name 'Beta'"),
        ('{"any": ["ok", "not ok"]}', "Invalid permission name 'not ok'"),
        ('{"any": ["\\u0000"]}', "Invalid permission name"),
        (json.dumps(nested(9)), "Condition is nested more than 8 levels deep"),
        ("[" * 50_000, "Condition is too large"),
        ("[" * 5_000, "Condition is nested more than 8 levels deep"),
        (json.dumps({"any": [f"p{n}" for n in range(101)]}), "Condition names more than 100 permissions"),
        (json.dumps(nested(3, {"all": ["a"] * 101})), "Condition names more than 100 permissions"),
    ],
)
def test_malformed_conditions_are_refused_with_a_clear_message(client, holder, text, message):
    response = check(client, holder, text)

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"
    [problem] = response.json["errors"]["permissions"]
    assert problem.startswith(message), problem


def test_a_missing_condition_is_refused(client, holder):
    response = client.get(f"{combined_path(holder.uuid)}/validation", headers=holder.headers)

    assert response.status_code == 400
    assert response.json["errors"] == {"permissions": ["Missing data for required field."]}


def test_a_superuser_meets_every_condition_but_must_still_send_a_valid_one(client, superuser):
    assert is_valid(client, superuser, "anything_at_all") is True
    assert is_valid(client, superuser, {"any": []}) is True
    assert is_valid(client, superuser, {"all": ["x", {"any": []}]}) is True
    assert check(client, superuser, "{not json").status_code == 400


def test_an_admin_checks_another_user(client, admin, holder):
    assert check(client, holder, "beta", caller=admin).json == {"valid": True}
    assert check(client, holder, "permissions_admin", caller=admin).json == {"valid": False}


# The cache: warm checks run no SQL, and every change shows in the very next check


def test_warm_checks_run_no_database_query(client, holder, admin, count_queries):
    is_valid(client, holder, "beta")  # warms the holder's entry
    combined_permissions(client, admin)  # and the admin's

    with count_queries() as queries:
        for _ in range(3):
            assert is_valid(client, holder, {"any": ["nope", "beta"]}) is True
            assert combined_permissions(client, holder) == ["beta", "pro_read"]
            assert check(client, holder, "pro_read", caller=admin).json == {"valid": True}

    assert queries.statements == []


def test_a_cold_check_reads_the_database_once_then_caches(client, holder, count_queries):
    with count_queries() as cold:
        is_valid(client, holder, "beta")
    with count_queries() as warm:
        is_valid(client, holder, "beta")

    assert 0 < len(cold.statements) <= 2
    assert warm.statements == []


def test_admin_routes_check_the_callers_permissions_from_the_cache(client, admin, count_queries):
    client.get(f"{API}/roles", headers=admin.headers)

    with count_queries() as queries:
        client.get(f"{API}/roles", headers=admin.headers)

    assert len(queries.statements) == 2  # the roles and their permissions; the admin check itself is cached


def test_cache_entries_expire_after_the_configured_time(app, client, holder, settings):
    is_valid(client, holder, "beta")

    with app.app_context():
        ttl = app.extensions["redis"].ttl(redis_keys.user_permissions(holder.uuid))

    assert 0 < ttl <= settings.permission_cache_ttl.total_seconds()


CHANGES = [
    pytest.param("post", "/users/{holder}/roles", {"name": "superuser"}, "anything", True, id="role given"),
    pytest.param("delete", "/users/{holder}/roles/subscriber", None, "pro_read", False, id="role taken"),
    pytest.param(
        "post", "/users/{holder}/permissions", {"name": "permissions_admin"}, "permissions_admin", True, id="granted"
    ),
    pytest.param("delete", "/users/{holder}/permissions/beta", None, "beta", False, id="revoked"),
    pytest.param(
        "post",
        "/roles/subscriber/permissions",
        {"name": "permissions_admin"},
        "permissions_admin",
        True,
        id="role gains a permission",
    ),
    # A role of our own: the built-in ones keep their names and grants (test_built_ins).
    pytest.param(
        "delete", "/roles/reviewer/permissions/early_access", None, "early_access", False, id="role loses one"
    ),
    pytest.param("delete", "/roles/reviewer", None, "early_access", False, id="role deleted"),
    pytest.param("delete", "/permissions/beta", None, "beta", False, id="permission deleted"),
    pytest.param("patch", "/permissions/beta", {"name": "gamma"}, "gamma", True, id="permission renamed"),
]


@pytest.mark.parametrize(("method", "path", "body", "condition", "valid_after"), CHANGES)
def test_every_change_shows_in_the_next_check(
    app, client, holder, superuser, method, path, body, condition, valid_after
):
    if path.startswith("/roles/reviewer"):
        make_role(app, "reviewer", "early_access")
        give(app, holder, role="reviewer")
    assert is_valid(client, holder, condition) is not valid_after  # cached, with the opposite answer

    response = getattr(client, method)(API + path.format(holder=holder.uuid), json=body, headers=superuser.headers)

    assert response.status_code in (200, 201, 204), response.json
    assert is_valid(client, holder, condition) is valid_after


def test_a_new_description_shows_in_the_next_listing(client, holder, admin):
    assert combined_permissions(client, holder) == ["beta", "pro_read"]

    client.patch(f"{API}/permissions/beta", json={"description": "Now public"}, headers=admin.headers)

    listed = client.get(combined_path(holder.uuid), headers=holder.headers).json
    assert listed[0]["description"] == "Now public"


def test_a_change_made_through_one_worker_shows_in_the_next_check_on_another(app, settings, client, holder, admin):
    other_worker = create_app(settings)
    other_client = other_worker.test_client()
    assert is_valid(other_client, holder, "permissions_admin") is False  # cached by the other worker

    client.post(f"{API}/users/{holder.uuid}/permissions", json={"name": "permissions_admin"}, headers=admin.headers)
    assert is_valid(other_client, holder, "permissions_admin") is True

    client.delete(f"{API}/users/{holder.uuid}/permissions/permissions_admin", headers=admin.headers)
    assert is_valid(other_client, holder, "permissions_admin") is False


def test_a_change_racing_a_cache_fill_shows_in_the_next_check(app, client, holder, monkeypatch):
    read_from_database = permission_cache._load

    def read_then_concurrent_change(user_id: uuid.UUID):
        before_the_change = read_from_database(user_id)
        with app.app_context():  # another request commits a change right after this one read the database
            grants.revoke_role(accounts.get_user(holder.uuid), roles.get_role("subscriber"))
        return before_the_change

    monkeypatch.setattr(permission_cache, "_load", read_then_concurrent_change)
    assert is_valid(client, holder, "pro_read") is True  # answered from what it read: fine for this one request
    monkeypatch.undo()

    assert is_valid(client, holder, "pro_read") is False  # but the entry it stored is not trusted afterwards


def test_deleting_a_user_drops_their_cached_permissions(client, holder, admin, superuser):
    assert check(client, holder, "beta", caller=admin).json == {"valid": True}

    assert client.delete(f"{API}/users/{holder.uuid}", headers=superuser.headers).status_code == 204

    assert check(client, holder, "beta", caller=admin).status_code == 404


# The decorator the service's own views use


@pytest.fixture
def guarded(app: Flask, settings):
    """A worker with views guarded by `permissions_required`, sharing the test app's stores."""
    worker = create_app(settings)

    @worker.get("/auth/guarded/one")
    @permissions_required("beta")
    def one() -> dict:
        return {"ok": True}

    @worker.get("/auth/guarded/any")
    @permissions_required(any_of("nope", "pro_read"))
    def anything() -> dict:
        return {"ok": True}

    @worker.get("/auth/guarded/all")
    @permissions_required(all_of("beta", "pro_read", "permissions_admin"))
    def everything() -> dict:
        return {"ok": True}

    return worker.test_client()


def test_permissions_required_lets_holders_through(guarded, holder):
    assert guarded.get("/auth/guarded/one", headers=holder.headers).json == {"ok": True}
    assert guarded.get("/auth/guarded/any", headers=holder.headers).json == {"ok": True}

    refused = guarded.get("/auth/guarded/all", headers=holder.headers)
    assert refused.status_code == 403
    assert refused.json == {"msg": "Permission denied: this needs all of (beta, pro_read, permissions_admin)"}


def test_permissions_required_refuses_others_and_anonymous(guarded, account):
    assert guarded.get("/auth/guarded/one", headers=account.headers).json == {
        "msg": "Permission denied: this needs beta"
    }
    assert guarded.get("/auth/guarded/any", headers=account.headers).status_code == 403
    assert guarded.get("/auth/guarded/one").status_code == 401


def test_permissions_required_always_lets_a_superuser_through(guarded, superuser):
    for path in ("/auth/guarded/one", "/auth/guarded/any", "/auth/guarded/all"):
        assert guarded.get(path, headers=superuser.headers).status_code == 200


def test_a_grant_reaches_the_decorator_at_once(app, guarded, holder, admin, client):
    assert guarded.get("/auth/guarded/all", headers=holder.headers).status_code == 403

    client.post(f"{API}/roles/subscriber/permissions", json={"name": "permissions_admin"}, headers=admin.headers)

    assert guarded.get("/auth/guarded/all", headers=holder.headers).status_code == 200
