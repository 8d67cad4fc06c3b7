"""Roles over HTTP: create, list, read, rename, delete, and the permissions each role grants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from auth_support import API, combined_permissions, dangling_grants, give, make_role, row_count
from movies_auth.models import Role, role_permissions


@pytest.fixture
def reviewer(app) -> str:
    """A role of our own granting `early_access`: the built-in ones are not renamed or deleted (test_built_ins)."""
    make_role(app, "reviewer", "early_access")
    return "reviewer"


def test_admin_lists_roles_with_their_permissions(client, admin):
    response = client.get(f"{API}/roles", headers=admin.headers)

    assert response.status_code == 200
    assert [(r["name"], [p["name"] for p in r["permissions"]]) for r in response.json] == [
        ("subscriber", ["pro_read"]),
        ("superuser", ["all_all"]),
    ]
    assert set(response.json[0]) == {"uuid", "name", "description", "permissions"}


def test_admin_creates_a_role_and_grants_it_permissions(client, admin):
    created = client.post(f"{API}/roles", json={"name": "critic", "description": "Film critics"}, headers=admin.headers)
    granted = client.post(f"{API}/roles/critic/permissions", json={"name": "pro_read"}, headers=admin.headers)
    again = client.post(f"{API}/roles/critic/permissions", json={"name": "pro_read"}, headers=admin.headers)

    assert created.status_code == 201
    assert (created.json["name"], created.json["description"], created.json["permissions"]) == (
        "critic",
        "Film critics",
        [],
    )
    assert granted.status_code == 201
    assert granted.json["name"] == "pro_read"
    assert again.status_code == 200
    role = client.get(f"{API}/roles/critic", headers=admin.headers).json
    assert [p["name"] for p in role["permissions"]] == ["pro_read"]
    listed = client.get(f"{API}/roles/critic/permissions", headers=admin.headers)
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json] == ["pro_read"]


def test_a_taken_role_name_is_a_conflict(client, admin):
    response = client.post(f"{API}/roles", json={"name": "subscriber"}, headers=admin.headers)

    assert response.status_code == 409
    assert response.json == {"msg": "A role named 'subscriber' already exists"}
    assert row_count(client.application, Role) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Critic"},
        {"name": ""},
        {"name": None},
        {},
        {"name": "critic", "permissions": []},
        {"name": "critic", "description": "x" * 256},
        {"name": "critic", "description": "tab\there"},
    ],
)
def test_invalid_roles_are_refused_and_nothing_is_created(client, admin, body):
    response = client.post(f"{API}/roles", json=body, headers=admin.headers)

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"
    assert row_count(client.application, Role) == 2


def test_unknown_role_is_not_found(client, admin):
    requests = [
        ("get", f"{API}/roles/nope", None),
        ("patch", f"{API}/roles/nope", {"description": "x"}),
        ("delete", f"{API}/roles/nope", None),
        ("get", f"{API}/roles/nope/permissions", None),
        ("post", f"{API}/roles/nope/permissions", {"name": "pro_read"}),
        ("delete", f"{API}/roles/nope/permissions/pro_read", None),
    ]
    for method, path, body in requests:
        response = getattr(client, method)(path, json=body, headers=admin.headers)
        assert response.status_code == 404, (method, path)
        assert response.json == {"msg": "Role 'nope' not found"}


def test_granting_or_revoking_an_unknown_permission_is_not_found(client, admin):
    granted = client.post(f"{API}/roles/subscriber/permissions", json={"name": "nope"}, headers=admin.headers)
    revoked = client.delete(f"{API}/roles/subscriber/permissions/nope", headers=admin.headers)

    for response in (granted, revoked):
        assert response.status_code == 404
        assert response.json == {"msg": "Permission 'nope' not found"}


def test_revoking_a_permission_the_role_does_not_grant_is_not_found(client, admin):
    response = client.delete(f"{API}/roles/subscriber/permissions/permissions_admin", headers=admin.headers)

    assert response.status_code == 404
    assert response.json == {"msg": "Role 'subscriber' does not grant 'permissions_admin'"}


def test_admin_renames_a_role(client, admin, reviewer):
    response = client.patch(f"{API}/roles/reviewer", json={"name": "member"}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json["name"] == "member"
    assert [p["name"] for p in response.json["permissions"]] == ["early_access"]
    assert client.get(f"{API}/roles/reviewer", headers=admin.headers).status_code == 404


def test_renaming_a_role_onto_a_taken_name_is_a_conflict(client, admin, reviewer):
    response = client.patch(f"{API}/roles/reviewer", json={"name": "superuser"}, headers=admin.headers)

    assert response.status_code == 409
    assert response.json == {"msg": "A role named 'superuser' already exists"}
    assert client.get(f"{API}/roles/reviewer", headers=admin.headers).status_code == 200


def test_invalid_role_updates_are_refused(client, admin):
    for body in ({"name": "Member"}, {"permissions": []}, {"description": 5}):
        response = client.patch(f"{API}/roles/subscriber", json=body, headers=admin.headers)
        assert response.status_code == 400, body
    assert client.get(f"{API}/roles/subscriber", headers=admin.headers).json["description"] == "Paying subscribers"


def test_deleting_a_role_takes_it_from_its_holders(app, client, admin, account, reviewer):
    give(app, account, role="reviewer")
    assert combined_permissions(client, account) == ["early_access"]

    response = client.delete(f"{API}/roles/reviewer", headers=admin.headers)

    assert response.status_code == 204
    assert combined_permissions(client, account) == []
    assert client.get(f"{API}/users/{account.uuid}/roles", headers=admin.headers).json == []
    assert dangling_grants(app) == 0


def test_revoking_a_permission_from_a_role_takes_it_from_the_role_holders(app, client, admin, account, reviewer):
    give(app, account, role="reviewer")

    response = client.delete(f"{API}/roles/reviewer/permissions/early_access", headers=admin.headers)

    assert response.status_code == 204
    assert combined_permissions(client, account) == []
    assert client.get(f"{API}/roles/reviewer/permissions", headers=admin.headers).json == []


class TestOnlySuperusersMakeSuperusers:
    """A permissions admin manages every grant but `all_all`: otherwise they could make themselves superuser."""

    def test_admin_cannot_let_a_role_grant_all_all(self, client, admin):
        response = client.post(f"{API}/roles/subscriber/permissions", json={"name": "all_all"}, headers=admin.headers)

        assert response.status_code == 403
        assert response.json == {"msg": "Only a holder of all_all may grant or take away all_all"}
        assert client.get(f"{API}/roles/subscriber", headers=admin.headers).json["permissions"][0]["name"] == "pro_read"

    def test_admin_cannot_give_themselves_the_superuser_role_or_all_all(self, client, admin):
        role = client.post(f"{API}/users/{admin.uuid}/roles", json={"name": "superuser"}, headers=admin.headers)
        direct = client.post(f"{API}/users/{admin.uuid}/permissions", json={"name": "all_all"}, headers=admin.headers)

        assert (role.status_code, direct.status_code) == (403, 403)
        assert combined_permissions(client, admin) == ["permissions_admin"]

    def test_admin_cannot_take_superuser_powers_away(self, client, admin, superuser):
        requests = [
            client.delete(f"{API}/users/{superuser.uuid}/roles/superuser", headers=admin.headers),
            client.delete(f"{API}/roles/superuser/permissions/all_all", headers=admin.headers),
            client.delete(f"{API}/roles/superuser", headers=admin.headers),
        ]

        assert [response.status_code for response in requests] == [403, 403, 403]
        assert combined_permissions(client, superuser) == ["all_all"]

    def test_a_superuser_may_grant_all_all(self, app, client, superuser, account):
        body = {"name": "superuser"}
        response = client.post(f"{API}/users/{account.uuid}/roles", json=body, headers=superuser.headers)

        assert response.status_code == 201
        assert combined_permissions(client, account) == ["all_all"]


def test_concurrent_grants_of_one_permission_to_a_role_leave_one_row(app, admin):
    def grant(_: int) -> int:
        with app.test_client() as client:
            body = {"name": "permissions_admin"}
            return client.post(f"{API}/roles/subscriber/permissions", json=body, headers=admin.headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(grant, range(16)))

    assert statuses == [200] * 15 + [201]
    # superuser→all_all, subscriber→pro_read, and one subscriber→permissions_admin
    assert row_count(app, role_permissions) == 3
