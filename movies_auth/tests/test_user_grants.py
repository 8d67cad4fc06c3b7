"""A user's roles and direct permissions over HTTP, and the rule that a superuser always remains."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from auth_support import API, give, row_count
from movies_auth.domain import permissions, roles, superusers
from movies_auth.models import User, user_permissions, user_roles

LAST_SUPERUSER = {"msg": "Refused: this would leave nobody holding all_all; grant it to another user first"}


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json]


def test_admin_gives_a_user_a_role(client, admin, account):
    granted = client.post(f"{API}/users/{account.uuid}/roles", json={"name": "subscriber"}, headers=admin.headers)
    again = client.post(f"{API}/users/{account.uuid}/roles", json={"name": "subscriber"}, headers=admin.headers)

    assert granted.status_code == 201
    assert granted.json["name"] == "subscriber"
    assert [p["name"] for p in granted.json["permissions"]] == ["pro_read"]
    assert again.status_code == 200
    assert names(client.get(f"{API}/users/{account.uuid}/roles", headers=admin.headers)) == ["subscriber"]


def test_admin_takes_a_role_away(app, client, admin, account):
    give(app, account, role="subscriber")

    response = client.delete(f"{API}/users/{account.uuid}/roles/subscriber", headers=admin.headers)

    assert response.status_code == 204
    assert names(client.get(f"{API}/users/{account.uuid}/roles", headers=admin.headers)) == []


def test_admin_grants_and_revokes_a_direct_permission(client, admin, account):
    granted = client.post(f"{API}/users/{account.uuid}/permissions", json={"name": "pro_read"}, headers=admin.headers)
    again = client.post(f"{API}/users/{account.uuid}/permissions", json={"name": "pro_read"}, headers=admin.headers)
    listed = client.get(f"{API}/users/{account.uuid}/permissions", headers=admin.headers)
    revoked = client.delete(f"{API}/users/{account.uuid}/permissions/pro_read", headers=admin.headers)

    assert (granted.status_code, again.status_code, revoked.status_code) == (201, 200, 204)
    assert granted.json["name"] == "pro_read"
    assert names(listed) == ["pro_read"]
    assert names(client.get(f"{API}/users/{account.uuid}/permissions", headers=admin.headers)) == []


def test_direct_permissions_do_not_list_those_of_roles(app, client, admin, account):
    give(app, account, role="subscriber")

    assert names(client.get(f"{API}/users/{account.uuid}/permissions", headers=admin.headers)) == []


def test_revoking_what_the_user_lacks_is_not_found(client, admin, account):
    role = client.delete(f"{API}/users/{account.uuid}/roles/subscriber", headers=admin.headers)
    permission = client.delete(f"{API}/users/{account.uuid}/permissions/pro_read", headers=admin.headers)

    assert (role.status_code, role.json) == (404, {"msg": "The user does not have role 'subscriber'"})
    assert (permission.status_code, permission.json) == (404, {"msg": "The user has no direct grant of 'pro_read'"})


@pytest.mark.parametrize(
    "user_id", [pytest.param(str(uuid.uuid4()), id="unknown-uuid"), "not-a-uuid", "0", "-1", "9" * 40]
)
def test_unknown_users_are_not_found(client, admin, user_id):
    requests = [
        client.get(f"{API}/users/{user_id}/roles", headers=admin.headers),
        client.post(f"{API}/users/{user_id}/roles", json={"name": "subscriber"}, headers=admin.headers),
        client.delete(f"{API}/users/{user_id}/roles/subscriber", headers=admin.headers),
        client.get(f"{API}/users/{user_id}/permissions", headers=admin.headers),
        client.post(f"{API}/users/{user_id}/permissions", json={"name": "pro_read"}, headers=admin.headers),
        client.delete(f"{API}/users/{user_id}/permissions/pro_read", headers=admin.headers),
    ]

    for response in requests:
        assert (response.status_code, response.json) == (404, {"msg": "User not found"})


def test_unknown_roles_and_permissions_are_not_found_and_grant_nothing(client, admin, account):
    role = client.post(f"{API}/users/{account.uuid}/roles", json={"name": "nope"}, headers=admin.headers)
    permission = client.post(f"{API}/users/{account.uuid}/permissions", json={"name": "nope"}, headers=admin.headers)

    assert (role.status_code, role.json) == (404, {"msg": "Role 'nope' not found"})
    assert (permission.status_code, permission.json) == (404, {"msg": "Permission 'nope' not found"})
    assert row_count(client.application, user_roles) == 0
    assert row_count(client.application, user_permissions) == 1  # the admin's own grant


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "Subscriber"}, {"name": ["subscriber"]}, {"role": "x"}])
def test_invalid_grants_are_refused_and_grant_nothing(client, admin, account, body):
    role = client.post(f"{API}/users/{account.uuid}/roles", json=body, headers=admin.headers)
    permission = client.post(f"{API}/users/{account.uuid}/permissions", json=body, headers=admin.headers)

    for response in (role, permission):
        assert response.status_code == 400
        assert response.json["msg"] == "Invalid input"
    assert row_count(client.application, user_roles) == 0
    assert row_count(client.application, user_permissions) == 1


class TestTheLastSuperuserStays:
    def test_their_role_cannot_be_taken(self, client, superuser):
        response = client.delete(f"{API}/users/{superuser.uuid}/roles/superuser", headers=superuser.headers)

        assert (response.status_code, response.json) == (409, LAST_SUPERUSER)
        assert names(client.get(f"{API}/users/{superuser.uuid}/roles", headers=superuser.headers)) == ["superuser"]

    def test_their_direct_all_all_cannot_be_taken(self, app, client, make_account):
        root = make_account("direct-root@example.com")
        give(app, root, permission="all_all")

        response = client.delete(f"{API}/users/{root.uuid}/permissions/all_all", headers=root.headers)

        assert (response.status_code, response.json) == (409, LAST_SUPERUSER)

    def test_they_cannot_be_deleted(self, client, superuser):
        response = client.delete(f"{API}/users/{superuser.uuid}", headers=superuser.headers)

        assert (response.status_code, response.json) == (409, LAST_SUPERUSER)
        assert row_count(client.application, User) == 1
        assert client.get(f"{API}/auth_token/validation", headers=superuser.headers).status_code == 200

    def test_the_superuser_role_cannot_be_deleted_or_stripped(self, client, superuser):
        deleted = client.delete(f"{API}/roles/superuser", headers=superuser.headers)
        stripped = client.delete(f"{API}/roles/superuser/permissions/all_all", headers=superuser.headers)

        assert (deleted.status_code, deleted.json["msg"]) == (
            409,
            "superuser is built in: it cannot be renamed or deleted",
        )
        assert stripped.status_code == 409
        assert names(client.get(f"{API}/roles/superuser/permissions", headers=superuser.headers)) == ["all_all"]

    def test_a_role_of_our_own_granting_all_all_cannot_take_the_last_superuser(self, app, client, make_account):
        root = make_account("root@example.com")
        with app.app_context():
            roles.create_role("admins", permissions=[permissions.get_permission("all_all")])
        give(app, root, role="admins")

        deleted = client.delete(f"{API}/roles/admins", headers=root.headers)
        stripped = client.delete(f"{API}/roles/admins/permissions/all_all", headers=root.headers)

        for response in (deleted, stripped):
            assert (response.status_code, response.json) == (409, LAST_SUPERUSER)

    def test_with_a_second_superuser_the_first_may_go(self, app, client, superuser, make_account):
        second = make_account("second-root@example.com")
        give(app, second, permission="all_all")

        assert client.delete(f"{API}/users/{superuser.uuid}/roles/superuser", headers=second.headers).status_code == 204
        last = client.delete(f"{API}/users/{second.uuid}/permissions/all_all", headers=second.headers)
        assert (last.status_code, last.json) == (409, LAST_SUPERUSER)

    def test_two_superusers_stepping_down_at_once_leave_one(self, app, superuser, make_account, monkeypatch):
        second = make_account("second-root@example.com")
        give(app, second, role="superuser")
        count_holders = superusers.superuser_exists

        def slow_count() -> bool:
            time.sleep(0.1)  # long enough for the other request to reach the same point, were it not kept out
            return count_holders()

        monkeypatch.setattr(superusers, "superuser_exists", slow_count)

        def step_down(root) -> int:
            with app.test_client() as client:
                path = f"{API}/users/{root.uuid}/roles/superuser"
                return client.delete(path, headers=root.headers).status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = sorted(pool.map(step_down, [superuser, second]))

        assert statuses == [204, 409]
        assert row_count(app, user_roles) == 1


def test_concurrent_grants_and_revokes_of_one_role_leave_no_duplicate(app, admin, account):
    def grant(_: int) -> int:
        with app.test_client() as client:
            body = {"name": "subscriber"}
            return client.post(f"{API}/users/{account.uuid}/roles", json=body, headers=admin.headers).status_code

    def revoke(_: int) -> int:
        with app.test_client() as client:
            return client.delete(f"{API}/users/{account.uuid}/roles/subscriber", headers=admin.headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        granted = sorted(pool.map(grant, range(16)))
    assert granted == [200] * 15 + [201]
    assert row_count(app, user_roles) == 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        revoked = sorted(pool.map(revoke, range(16)))
    assert revoked == [204] + [404] * 15
    assert row_count(app, user_roles) == 0
