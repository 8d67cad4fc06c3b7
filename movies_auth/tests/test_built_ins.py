"""The built-in roles and permissions keep their names and defining grants: a permissions admin cannot rename or
delete them (and so cannot swap an empty role in under a built-in name), and `flask app init` and
`flask superuser create` give back a defining grant a database has lost."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from auth_support import API, login
from movies_auth.domain.built_ins import DEFAULT_PERMISSIONS, DEFAULT_ROLES
from movies_auth.extensions import db
from movies_auth.models import Permission, Role, role_permissions

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`

BUILT_IN_ROLES = sorted(DEFAULT_ROLES)
BUILT_IN_PERMISSIONS = sorted(DEFAULT_PERMISSIONS)


def role_grants(app) -> dict[str, list[str]]:
    with app.app_context():
        return {role.name: [p.name for p in role.permissions] for role in db.session.scalars(select(Role))}


@pytest.mark.parametrize("name", BUILT_IN_ROLES)
def test_a_built_in_role_cannot_be_renamed_or_deleted(app, client, superuser, name):
    before = role_grants(app)

    renamed = client.patch(f"{API}/roles/{name}", json={"name": f"{name}-old"}, headers=superuser.headers)
    deleted = client.delete(f"{API}/roles/{name}", headers=superuser.headers)

    for response in (renamed, deleted):
        assert response.status_code == 409
        assert response.json == {"msg": f"{name} is built in: it cannot be renamed or deleted"}
    assert role_grants(app) == before


@pytest.mark.parametrize("name", BUILT_IN_PERMISSIONS)
def test_a_built_in_permission_cannot_be_renamed_or_deleted(app, client, superuser, name):
    renamed = client.patch(f"{API}/permissions/{name}", json={"name": f"{name}-old"}, headers=superuser.headers)
    deleted = client.delete(f"{API}/permissions/{name}", headers=superuser.headers)

    for response in (renamed, deleted):
        assert response.status_code == 409
        assert response.json == {"msg": f"{name} is built in: it cannot be renamed or deleted"}
    with app.app_context():
        assert set(db.session.scalars(select(Permission.name))) >= set(DEFAULT_PERMISSIONS)


def test_a_built_in_role_may_get_a_new_description_and_more_permissions(client, admin):
    described = client.patch(f"{API}/roles/subscriber", json={"description": "Paying"}, headers=admin.headers)
    client.post(f"{API}/permissions", json={"name": "beta"}, headers=admin.headers)
    granted = client.post(f"{API}/roles/subscriber/permissions", json={"name": "beta"}, headers=admin.headers)

    assert (described.status_code, granted.status_code) == (200, 201)
    assert client.delete(f"{API}/roles/subscriber/permissions/beta", headers=admin.headers).status_code == 204


@pytest.mark.parametrize(("role", "permission"), [("superuser", "all_all"), ("subscriber", "pro_read")])
def test_a_built_in_roles_defining_grant_cannot_be_revoked(app, client, superuser, role, permission):
    response = client.delete(f"{API}/roles/{role}/permissions/{permission}", headers=superuser.headers)

    assert response.status_code == 409
    assert response.json == {"msg": f"role {role}'s grant of {permission} is built in: it cannot be revoked"}
    assert permission in role_grants(app)[role]


def lose_the_superuser_grant(app) -> None:
    """A database from before the protection: the superuser role no longer grants all_all."""
    with app.app_context():
        role_id = db.session.scalar(select(Role.id).where(Role.name == "superuser"))
        db.session.execute(delete(role_permissions).where(role_permissions.c.role_id == role_id))
        db.session.commit()


def test_app_init_gives_a_built_in_role_back_its_grant(app):
    lose_the_superuser_grant(app)

    result = app.test_cli_runner().invoke(args=["app", "init"])

    assert result.exit_code == 0, result.output
    assert "grant of all_all to role superuser" in result.output
    assert role_grants(app)["superuser"] == ["all_all"]


def test_superuser_create_makes_a_superuser_even_from_a_damaged_database(app, client):
    lose_the_superuser_grant(app)
    options = ["--email", "root@example.com", "--password", "super secret pw", "--first-name", "", "--last-name", ""]

    result = app.test_cli_runner().invoke(args=["superuser", "create", *options])

    assert result.exit_code == 0, result.output
    root = login(client, "root@example.com", "super secret pw").json
    listed = client.get(f"{API}/roles", headers={"Authorization": f"Bearer {root['access_token']}"})
    assert listed.status_code == 200  # a holder of all_all, not a user with an empty role
