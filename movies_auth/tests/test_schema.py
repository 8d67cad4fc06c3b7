"""The database schema: built by the migrations, identical to the models, enforcing what the models promise."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from movies_auth.extensions import db
from movies_auth.models import User

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`


def test_the_migrations_build_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)

    assert differences == []


@pytest.mark.parametrize("email", ["Ada@example.com", "ADA@EXAMPLE.COM"])
def test_the_database_itself_refuses_an_email_that_is_not_lower_case(app, email):
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(insert(User).values(id=uuid.uuid4(), email=email, password_hash="x"))
        db.session.rollback()
