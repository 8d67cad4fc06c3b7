"""Every route of the service, tried by every kind of caller: who gets in is exactly what the contract says,
a refusal changes nothing, and odd ids are a 4xx that tells a stranger nothing."""

from __future__ import annotations

import jwt as pyjwt
import pytest

from auth_support import API, PASSWORD, bearer, give, make_role, row_count, service_token
from movies_auth.models import (
    LoginAttempt,
    Permission,
    Role,
    User,
    UserSession,
    role_permissions,
    user_permissions,
    user_roles,
)

CALLERS = ("anonymous", "owner", "stranger", "admin", "superuser", "service")
OK, NO_TOKEN, FORBIDDEN = "ok", 401, 403
# What each kind of caller gets, in the order of CALLERS ("ok" is any 2xx; the admin holds permissions_admin).
ANYONE = (OK, OK, OK, OK, OK, OK)
TOKEN_HOLDERS = (NO_TOKEN, OK, OK, OK, OK, OK)
USERS = (NO_TOKEN, OK, OK, OK, OK, FORBIDDEN)
SERVICES = (NO_TOKEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
OWNER_OR_SUPERUSER = (NO_TOKEN, OK, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)
OWNER_ADMINS_SERVICES = (NO_TOKEN, OK, FORBIDDEN, OK, OK, OK)
ADMINS = (NO_TOKEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN)
REFRESH_ONLY = (NO_TOKEN, 422, 422, 422, 422, 422)  # every caller here holds an access token
# A superuser passes the guard of a password change, but not the check of the owner's old password.
PASSWORD_CHANGE = (NO_TOKEN, OK, FORBIDDEN, FORBIDDEN, 400, FORBIDDEN)
# The owner has no social identity linked: those let in find nothing to unlink.
SOCIAL_UNLINK = (NO_TOKEN, 404, FORBIDDEN, FORBIDDEN, 404, FORBIDDEN)

USER = f"{API}/users/{{user}}"  # {user} is the owner's id, {session} the owner's session
MATRIX = [
    ("GET", "/auth/", None, ANYONE),
    ("GET", "/auth/healthz", None, ANYONE),
    ("GET", "/auth/.well-known/jwks.json", None, ANYONE),
    ("GET", f"{API}/auth_token/validation", None, TOKEN_HOLDERS),
    ("DELETE", f"{API}/auth_token", None, USERS),
    ("DELETE", f"{API}/auth_token/all", None, USERS),
    ("POST", f"{API}/auth_token/token_refresh", None, REFRESH_ONLY),
    ("GET", f"{API}/service_token", None, SERVICES),
    ("GET", USER, None, OWNER_OR_SUPERUSER),
    ("PATCH", USER, {"first_name": "Ada"}, OWNER_OR_SUPERUSER),
    ("GET", f"{USER}/logins", None, OWNER_OR_SUPERUSER),
    ("GET", f"{USER}/sessions", None, OWNER_OR_SUPERUSER),
    ("DELETE", f"{USER}/sessions", None, OWNER_OR_SUPERUSER),
    ("DELETE", f"{USER}/sessions/{{session}}", None, OWNER_OR_SUPERUSER),
    ("GET", f"{USER}/social_accounts", None, OWNER_OR_SUPERUSER),
    ("DELETE", f"{USER}/social_accounts/google", None, SOCIAL_UNLINK),
    ("POST", f"{USER}/password", {"old_password": PASSWORD, "new_password": "a new password"}, PASSWORD_CHANGE),
    ("POST", f"{USER}/email", {"new_email": "new@example.com", "password": PASSWORD}, OWNER_OR_SUPERUSER),
    ("DELETE", USER, None, OWNER_OR_SUPERUSER),
    ("GET", f"{USER}/combined_permissions", None, OWNER_ADMINS_SERVICES),
    ("GET", f"{USER}/combined_permissions/validation?permissions=pro_read", None, OWNER_ADMINS_SERVICES),
    ("GET", f"{USER}/roles", None, ADMINS),
    ("POST", f"{USER}/roles", {"name": "subscriber"}, ADMINS),
    ("DELETE", f"{USER}/roles/subscriber", None, ADMINS),
    ("GET", f"{USER}/permissions", None, ADMINS),
    ("POST", f"{USER}/permissions", {"name": "permissions_admin"}, ADMINS),
    ("DELETE", f"{USER}/permissions/early_access", None, ADMINS),
    ("GET", f"{API}/permissions", None, ADMINS),
    ("POST", f"{API}/permissions", {"name": "beta"}, ADMINS),
    ("GET", f"{API}/permissions/early_access", None, ADMINS),
    ("PATCH", f"{API}/permissions/early_access", {"description": "x"}, ADMINS),
    ("DELETE", f"{API}/permissions/early_access", None, ADMINS),
    ("GET", f"{API}/roles", None, ADMINS),
    ("POST", f"{API}/roles", {"name": "critic"}, ADMINS),
    ("GET", f"{API}/roles/reviewer", None, ADMINS),
    ("PATCH", f"{API}/roles/reviewer", {"description": "x"}, ADMINS),
    ("DELETE", f"{API}/roles/reviewer", None, ADMINS),
    ("GET", f"{API}/roles/reviewer/permissions", None, ADMINS),
    ("POST", f"{API}/roles/reviewer/permissions", {"name": "permissions_admin"}, ADMINS),
    ("DELETE", f"{API}/roles/reviewer/permissions/early_access", None, ADMINS),
]
# Routes anyone may call by design: their body is the credential, they are the docs, or they are the monitoring
# network's (nginx does not route /auth/metrics: tests/test_nginx_observability.py).
PUBLIC = {
    "tokens.login", "users.register", "service_tokens.service_token", "health.readyz",
    "account_email.request_verification", "account_email.confirm_verification",
    "account_email.request_password_reset", "account_email.confirm_password_reset",
    "account_email.confirm_email_change",
    "metrics.scrape",
    "oauth.list_providers", "oauth.start_sign_in", "oauth.callback", "oauth.exchange_code",
    "flasgger.apidocs", "flasgger.apispec", "flasgger.static", "flasgger.oauth_redirect", "flasgger.<lambda>",
    "static",
}  # fmt: skip
STATE = (User, LoginAttempt, UserSession, Permission, Role, role_permissions, user_permissions, user_roles)
ODD_IDS = ("0", "-1", "9" * 40, "x" * 5000, "not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "..")


@pytest.fixture
def callers(app, client, make_account) -> dict[str, dict]:
    """The headers of each kind of caller; the owner holds `subscriber` and `early_access`, so revokes have work.

    Role `reviewer` grants `early_access`: the routes changing a role or a permission itself work on those two,
    as the built-in ones are not renamed or deleted (test_built_ins)."""
    make_role(app, "reviewer", "early_access")
    owner = make_account("owner@example.com")
    give(app, owner, role="subscriber", permission="early_access")
    stranger = make_account("stranger@example.com")
    admin = make_account("admin@example.com")
    give(app, admin, permission="permissions_admin")
    superuser = make_account("root@example.com")
    give(app, superuser, role="superuser")
    return {
        "owner_id": owner.uuid,
        "owner_session": pyjwt.decode(owner.access_token, options={"verify_signature": False})["sid"],
        "anonymous": {},
        "owner": owner.headers,
        "stranger": stranger.headers,
        "admin": admin.headers,
        "superuser": superuser.headers,
        "service": bearer(service_token(app, client, "billing")),
    }


def snapshot(app) -> list[int]:
    return [row_count(app, table) for table in STATE]


def route_id(route) -> str:
    return f"{route[0]} {route[1]}"


def test_the_matrix_covers_every_route(app):
    urls = app.url_map.bind("localhost")
    listed = {
        urls.match(path.split("?")[0].format(user="x", session="x"), method=method)[0] for method, path, *_ in MATRIX
    }
    every = {rule.endpoint for rule in app.url_map.iter_rules()}

    assert every - PUBLIC == listed
    assert not listed & PUBLIC


@pytest.mark.parametrize("route", MATRIX, ids=route_id)
def test_each_caller_gets_exactly_what_the_design_allows_and_refusals_change_nothing(app, client, callers, route):
    method, path, body, allowed = route
    url = path.format(user=callers["owner_id"], session=callers["owner_session"])
    for caller, expected in zip(CALLERS, allowed, strict=True):
        before = snapshot(app)
        response = client.open(url, method=method, json=body, headers=callers[caller])

        got = OK if 200 <= response.status_code < 300 else response.status_code
        assert got == expected, (caller, response.status_code, response.json)
        assert response.is_json or response.status_code == 204
        if got != OK:
            assert set(response.json) == {"msg"}, response.json
            assert snapshot(app) == before, caller
        if got == OK and method != "GET":
            break  # the first success changed what the rest would meet; the refusals before it are checked


@pytest.mark.parametrize("route", [route for route in MATRIX if "{user}" in route[1]], ids=route_id)
def test_a_stranger_cannot_tell_an_odd_or_missing_id_from_someone_elses(app, client, callers, route):
    method, path, body, _ = route
    before = snapshot(app)
    real = client.open(
        path.format(user=callers["owner_id"], session=callers["owner_session"]),
        method=method,
        json=body,
        headers=callers["stranger"],
    )

    for odd in ODD_IDS:
        probe = client.open(path.format(user=odd, session=callers["owner_session"]), method=method, json=body,
                            headers=callers["stranger"])  # fmt: skip
        assert (probe.status_code, probe.json) == (real.status_code, real.json), odd
    assert real.status_code == 403
    assert snapshot(app) == before


@pytest.mark.parametrize("route", [route for route in MATRIX if "{user}" in route[1]], ids=route_id)
def test_for_a_superuser_an_odd_or_missing_id_is_a_404(app, client, callers, route):
    method, path, body, _ = route
    before = snapshot(app)

    for odd in ODD_IDS:
        response = client.open(path.format(user=odd, session=callers["owner_session"]), method=method, json=body,
                               headers=callers["superuser"])  # fmt: skip
        assert (response.status_code, response.json) == (404, {"msg": "User not found"}), odd
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"{API}/users/{{user}}", field)
        for field in ("uuid", "id", "password", "password_hash", "is_superuser", "roles", "permissions", "created_at")
    ]
    + [(f"{API}/roles/reviewer", field) for field in ("uuid", "id", "permissions", "users")]
    + [(f"{API}/permissions/pro_read", field) for field in ("uuid", "id", "roles", "users")],
)
def test_no_patch_accepts_a_field_it_does_not_document(app, client, callers, path, field):
    before = snapshot(app)

    response = client.patch(path.format(user=callers["owner_id"]), json={field: "x"}, headers=callers["superuser"])

    assert response.status_code == 400
    assert field in response.json["errors"]
    assert snapshot(app) == before
