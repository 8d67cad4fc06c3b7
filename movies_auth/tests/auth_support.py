"""Helpers the tests share: paths, a default password, and short-hands for the common calls."""

from __future__ import annotations

from dataclasses import dataclass

import jwt as pyjwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from movies_auth.domain import accounts, grants, permissions, roles, service_accounts
from movies_auth.extensions import db
from movies_auth.models import Permission, Role, User, role_permissions, user_permissions, user_roles

API = "/auth/api/v1"
PASSWORD = "correct horse battery"
# A rate limit no test reaches unless it sets its own.
GENEROUS_LIMIT = "10000 per minute"


@dataclass
class Account:
    """A registered user and the tokens of one login."""

    uuid: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict:
    """A token's claims, read without checking it."""
    return pyjwt.decode(token, options={"verify_signature": False})


def validate(client: FlaskClient, token: str):
    return client.get(f"{API}/auth_token/validation", headers=bearer(token))


def refresh(client: FlaskClient, token: str):
    return client.post(f"{API}/auth_token/token_refresh", headers=bearer(token))


def service_token(app: Flask, client: FlaskClient, name: str) -> str:
    """Register a service and trade its secret for a token, as the service would."""
    with app.app_context():
        _, secret = service_accounts.create(name)
    response = client.post(f"{API}/service_token", json={"service_name": name, "secret": secret})
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def register(client: FlaskClient, email: str, password: str = PASSWORD, **names: str):
    return client.post(f"{API}/users", json={"email": email, "password": password, **names})


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs):
    return client.post(f"{API}/auth_token", json={"email": email, "password": password}, **kwargs)


def row_count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.query(model).count()


def combined_permissions(client: FlaskClient, account: Account) -> list[str]:
    """The names of the account's combined permissions, asked as the account itself."""
    response = client.get(f"{API}/users/{account.uuid}/combined_permissions", headers=account.headers)
    assert response.status_code == 200, response.json
    return [permission["name"] for permission in response.json]


def give(app: Flask, account: Account, *, role: str | None = None, permission: str | None = None) -> None:
    """Grant a role or a permission the way the service does (so caches learn of it)."""
    with app.app_context():
        user = accounts.get_user(account.uuid)
        if role:
            grants.grant_role(user, roles.get_role(role))
        if permission:
            grants.grant_permission(user, permissions.get_permission(permission))


def make_role(app: Flask, role: str, permission: str) -> None:
    """Create a permission and a role granting it, the way the service does."""
    with app.app_context():
        roles.create_role(role, permissions=[permissions.create_permission(permission)])


def dangling_grants(app: Flask) -> int:
    """Grant rows pointing at a user, role or permission that no longer exists."""
    references = [
        (role_permissions.c.role_id, Role.id),
        (role_permissions.c.permission_id, Permission.id),
        (user_roles.c.user_id, User.id),
        (user_roles.c.role_id, Role.id),
        (user_permissions.c.user_id, User.id),
        (user_permissions.c.permission_id, Permission.id),
    ]
    with app.app_context():
        return sum(
            db.session.query(column.table).filter(column.not_in(db.session.query(target))).count()
            for column, target in references
        )


def script_registrations(monkeypatch: pytest.MonkeyPatch, app: Flask) -> list[str]:
    """The Lua scripts registered with the app's Redis client from now on, filled in as they are."""
    redis = app.extensions["redis"]
    original, registered = redis.register_script, []

    def register_script(source: str):
        registered.append(source)
        return original(source)

    monkeypatch.setattr(redis, "register_script", register_script)
    return registered
