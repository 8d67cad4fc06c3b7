"""Writes that must stay correct when two requests make them at the same time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from movies_auth.domain.errors import DomainError
from movies_auth.extensions import db

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def commit_unique(conflict: Callable[[], DomainError]) -> None:
    """Commit; a unique constraint violated (even by a concurrent request) raises `conflict()` instead."""
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise conflict() from error


def save_changes(record: Any, changes: dict[str, Any], conflict: Callable[[], DomainError]) -> None:
    """Apply validated field changes to a record and commit; a unique value taken raises `conflict()`."""
    for field, value in changes.items():
        setattr(record, field, value)
    commit_unique(conflict)


def find_by_name(model: type[Any], name: str) -> Any | None:
    """The record of `model` (a role, a permission, a service) with this unique name, if there is one."""
    return db.session.scalar(select(model).where(model.name == name))


def insert_unless_present(table: Table, **values: Any) -> bool:
    """Insert a row unless its key is taken (even by a concurrent transaction); whether it was inserted."""
    insert = _INSERT[db.session.get_bind().dialect.name]
    # RETURNING tells whether a row went in; rowcount is not reliable for INSERT on every driver.
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return db.session.execute(statement).first() is not None
