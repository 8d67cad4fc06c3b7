"""Permissions over HTTP: create, list, read, rename, delete, and the rules on names."""

from __future__ import annotations

import pytest

from auth_support import API, dangling_grants, give, make_role, row_count
from movies_auth.models import Permission


@pytest.fixture
def reviewer(app) -> str:
    """A role of our own granting `early_access`: the built-in ones are not renamed or deleted (test_built_ins)."""
    make_role(app, "reviewer", "early_access")
    return "reviewer"


NEW = {"name": "beta_access", "description": "Try features before everyone else"}


def permission_names(client, admin) -> list[str]:
    return [p["name"] for p in client.get(f"{API}/permissions", headers=admin.headers).json]


def test_admin_lists_permissions_by_name(client, admin):
    response = client.get(f"{API}/permissions", headers=admin.headers)

    assert response.status_code == 200
    assert [p["name"] for p in response.json] == ["all_all", "permissions_admin", "pro_read"]
    assert set(response.json[0]) == {"uuid", "name", "description"}


def test_admin_creates_and_reads_a_permission(client, admin):
    created = client.post(f"{API}/permissions", json=NEW, headers=admin.headers)

    assert created.status_code == 201
    assert created.json == {"uuid": created.json["uuid"], **NEW}
    read = client.get(f"{API}/permissions/beta_access", headers=admin.headers)
    assert read.status_code == 200
    assert read.json == created.json


def test_description_is_optional(client, admin):
    created = client.post(f"{API}/permissions", json={"name": "beta_access"}, headers=admin.headers)

    assert created.status_code == 201
    assert created.json["description"] == ""


def test_a_taken_name_is_a_conflict(client, admin):
    client.post(f"{API}/permissions", json=NEW, headers=admin.headers)

    response = client.post(f"{API}/permissions", json={"name": "beta_access"}, headers=admin.headers)

    assert response.status_code == 409
    assert response.json == {"msg": "A permission named 'beta_access' already exists"}
    assert row_count(client.application, Permission) == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Beta"}, "name"),
        ({"name": "beta access"}, "name"),
        ({"name": "1beta"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "b" * 65}, "name"),
        ({"name": "beta/access"}, "name"),
        ({"name": "beta\u0000"}, "name"),
        ({"name": 42}, "name"),
        ({"description": "no name"}, "name"),
        ({"name": "beta", "description": "d" * 256}, "description"),
        ({"name": "beta", "uuid": "9b0d3c38-6c3e-4a55-9a57-7a1c4e1a51b8"}, "uuid"),
        ({"name": "beta", "is_admin": True}, "is_admin"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_created(client, admin, body, field):
    response = client.post(f"{API}/permissions", json=body, headers=admin.headers)

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"
    assert field in response.json["errors"]
    assert row_count(client.application, Permission) == 3


def test_a_body_that_is_not_json_is_refused(client, admin):
    response = client.post(f"{API}/permissions", data="name=beta", headers=admin.headers)

    assert response.status_code == 400
    assert response.json == {"msg": "Request body must be JSON (Content-Type: application/json)"}
    assert row_count(client.application, Permission) == 3


def test_unknown_permission_is_not_found(client, admin):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"{API}/permissions/nope", json={}, headers=admin.headers)
        assert response.status_code == 404
        assert response.json == {"msg": "Permission 'nope' not found"}


def test_admin_renames_a_permission_and_changes_its_description(client, admin):
    client.post(f"{API}/permissions", json=NEW, headers=admin.headers)

    response = client.patch(
        f"{API}/permissions/beta_access", json={"name": "early_access", "description": "New"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert (response.json["name"], response.json["description"]) == ("early_access", "New")
    assert client.get(f"{API}/permissions/beta_access", headers=admin.headers).status_code == 404
    assert client.get(f"{API}/permissions/early_access", headers=admin.headers).json == response.json


def test_renaming_onto_a_taken_name_is_a_conflict_and_changes_nothing(client, admin):
    client.post(f"{API}/permissions", json=NEW, headers=admin.headers)

    response = client.patch(f"{API}/permissions/beta_access", json={"name": "pro_read"}, headers=admin.headers)

    assert response.status_code == 409
    assert response.json == {"msg": "A permission named 'pro_read' already exists"}
    assert permission_names(client, admin) == ["all_all", "beta_access", "permissions_admin", "pro_read"]


@pytest.mark.parametrize("body", [{"name": "Bad Name"}, {"description": None}, {"uuid": "x"}, {"name": ""}])
def test_invalid_updates_are_refused_and_change_nothing(client, admin, body):
    client.post(f"{API}/permissions", json=NEW, headers=admin.headers)

    response = client.patch(f"{API}/permissions/beta_access", json=body, headers=admin.headers)

    assert response.status_code == 400
    assert client.get(f"{API}/permissions/beta_access", headers=admin.headers).json["description"] == NEW["description"]


def test_all_all_cannot_be_renamed_or_deleted(client, superuser):
    renamed = client.patch(f"{API}/permissions/all_all", json={"name": "everything"}, headers=superuser.headers)
    deleted = client.delete(f"{API}/permissions/all_all", headers=superuser.headers)

    for response in (renamed, deleted):
        assert response.status_code == 409
        assert response.json == {"msg": "all_all is built in: it cannot be renamed or deleted"}
    assert "all_all" in permission_names(client, superuser)


def test_all_all_may_get_a_new_description(client, superuser):
    response = client.patch(f"{API}/permissions/all_all", json={"description": "Root"}, headers=superuser.headers)

    assert response.status_code == 200
    assert response.json["description"] == "Root"


def test_deleting_a_permission_removes_every_grant_of_it(app, client, admin, account, reviewer):
    give(app, account, permission="early_access")

    response = client.delete(f"{API}/permissions/early_access", headers=admin.headers)

    assert response.status_code == 204
    assert "early_access" not in permission_names(client, admin)
    roles = {role["name"]: role for role in client.get(f"{API}/roles", headers=admin.headers).json}
    assert roles["reviewer"]["permissions"] == []
    assert client.get(f"{API}/users/{account.uuid}/permissions", headers=admin.headers).json == []
    assert dangling_grants(app) == 0
    assert client.get(f"{API}/users/{account.uuid}/combined_permissions", headers=account.headers).json == []
