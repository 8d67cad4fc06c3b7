"""Who may manage permissions, roles and grants: permission admins and superusers; nobody else."""

from __future__ import annotations

import pytest

from auth_support import API, give, make_role, row_count
from movies_auth.models import Permission, Role, role_permissions, user_permissions, user_roles

# Every management route, with a request that would succeed for an admin ({user} is another account).
ROUTES = [
    ("get", "/permissions", None),
    ("post", "/permissions", {"name": "beta"}),
    ("get", "/permissions/early_access", None),
    ("patch", "/permissions/early_access", {"description": "changed"}),
    ("delete", "/permissions/early_access", None),
    ("get", "/roles", None),
    ("post", "/roles", {"name": "critic"}),
    ("get", "/roles/reviewer", None),
    ("patch", "/roles/reviewer", {"description": "changed"}),
    ("delete", "/roles/reviewer", None),
    ("get", "/roles/reviewer/permissions", None),
    ("post", "/roles/reviewer/permissions", {"name": "permissions_admin"}),
    ("delete", "/roles/reviewer/permissions/early_access", None),
    ("get", "/users/{user}/roles", None),
    ("post", "/users/{user}/roles", {"name": "subscriber"}),
    ("delete", "/users/{user}/roles/subscriber", None),
    ("get", "/users/{user}/permissions", None),
    ("post", "/users/{user}/permissions", {"name": "pro_read"}),
    ("delete", "/users/{user}/permissions/early_access", None),
]
GRANTING_TABLES = (Permission, Role, role_permissions, user_permissions, user_roles)
MANAGEMENT_BLUEPRINTS = {"permissions", "roles", "grants"}


@pytest.fixture
def target(app, make_account):
    """Another account, holding the subscriber role and `early_access` directly, so every route has work to do.

    The routes that change a role or a permission itself work on `reviewer` and `early_access`: the built-in
    ones are not renamed or deleted (test_built_ins)."""
    make_role(app, "reviewer", "early_access")
    user = make_account("target@example.com")
    give(app, user, role="subscriber", permission="early_access")
    return user


def call(client, route, target, headers):
    method, path, body = route
    return getattr(client, method)(API + path.format(user=target.uuid), json=body, headers=headers)


def snapshot(app) -> list[int]:
    return [row_count(app, table) for table in GRANTING_TABLES]


def route_id(route) -> str:
    return f"{route[0].upper()} {route[1]}"


def test_the_list_covers_every_management_route(app, target):
    urls = app.url_map.bind("localhost")
    listed = {urls.match(API + path.format(user=target.uuid), method=method.upper())[0] for method, path, _ in ROUTES}
    management = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in MANAGEMENT_BLUEPRINTS
    }

    assert listed == management


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_anonymous_callers_are_refused_and_change_nothing(app, client, target, route):
    before = snapshot(app)

    response = call(client, route, target, headers={})

    assert (response.status_code, response.json) == (401, {"msg": "Missing Authorization Header"})
    assert snapshot(app) == before


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_plain_users_are_refused_and_change_nothing(app, client, target, account, route):
    before = snapshot(app)

    for caller in (account, target):  # the user a route is about gets no exception
        response = call(client, route, target, headers=caller.headers)
        assert response.status_code == 403
        assert response.json == {"msg": "Permission denied: this needs permissions_admin"}
    assert snapshot(app) == before


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
@pytest.mark.parametrize("caller", ["admin", "superuser"])
def test_admins_and_superusers_are_let_through(request, client, target, route, caller):
    response = call(client, route, target, headers=request.getfixturevalue(caller).headers)

    assert response.status_code in (200, 201, 204), response.json
