"""Helpers the tests share: paths, a default password, and short-hands for the common calls."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from movies_auth.extensions import db

API = "/auth/api/v1"
PASSWORD = "correct horse battery"


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


def register(client: FlaskClient, email: str, password: str = PASSWORD, **names: str):
    return client.post(f"{API}/users", json={"email": email, "password": password, **names})


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs):
    return client.post(f"{API}/auth_token", json={"email": email, "password": password}, **kwargs)


def row_count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.query(model).count()
