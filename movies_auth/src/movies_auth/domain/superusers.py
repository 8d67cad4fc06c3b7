"""The platform always keeps a superuser: a change that would leave nobody holding `all_all` is refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exists, select

from movies_auth.domain.built_ins import SUPERUSER_PERMISSION
from movies_auth.domain.errors import Conflict
from movies_auth.domain.permission_cache import holders_of
from movies_auth.extensions import db
from movies_auth.models import Permission


class LastSuperuser(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"Refused: this would leave nobody holding {SUPERUSER_PERMISSION}; grant it to another user first"
        )


def superuser_exists() -> bool:
    """Whether anyone holds `all_all`, directly or through a role."""
    return bool(db.session.scalar(select(exists(holders_of(SUPERUSER_PERMISSION)))))


@contextmanager
def keeping_a_superuser() -> Iterator[None]:
    """Make a change that may take `all_all` from someone; 409 and nothing changed if nobody would keep it.

    The caller commits afterwards; on any error the change is rolled back.
    """
    # Such changes take turns on the all_all row (a no-op on SQLite, whose writers take turns anyway),
    # so two admins removing the last two superusers at once cannot both succeed.
    db.session.execute(select(Permission.id).where(Permission.name == SUPERUSER_PERMISSION).with_for_update())
    had_one = superuser_exists()
    try:
        yield
        db.session.flush()
        if had_one and not superuser_exists():
            raise LastSuperuser()
    except BaseException:
        db.session.rollback()
        raise
