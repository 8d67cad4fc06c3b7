"""Who sees what: the public sees films rated 7.0 or lower (and unrated ones), `pro_read` sees every film."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, true

from movies_async_api.models import Film

PRO_PERMISSION = "pro_read"
PUBLIC_RATING_LIMIT = 7.0


class Access(enum.StrEnum):
    """How much of the catalogue a caller sees; also part of every cache key, so levels never share answers."""

    PUBLIC = "public"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller as the auth service described them; `degraded` when it could not be asked."""

    access: Access = Access.PUBLIC
    degraded: bool = False


ANONYMOUS = Caller()
DEGRADED = Caller(degraded=True)


def visible_films(access: Access) -> ColumnElement[bool]:
    """The SQL condition on `films` for what this access level may see."""
    if access is Access.FULL:
        return true()
    return or_(Film.imdb_rating <= PUBLIC_RATING_LIMIT, Film.imdb_rating.is_(None))


def may_see(access: Access, imdb_rating: float | None) -> bool:
    """Whether this access level may see a film with this rating (the same rule as `visible_films`)."""
    return access is Access.FULL or imdb_rating is None or imdb_rating <= PUBLIC_RATING_LIMIT
