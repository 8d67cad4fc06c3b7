"""Login history on PostgreSQL: one partition per calendar month (UTC), made ahead of time and dropped whole.

The history grows with every login attempt and is read a user and a page at a time, newest first. Split by
month, old months go with a `DROP TABLE` (no row-by-row delete, no bloat, no vacuum) and the newest,
where almost every read lands, stays small. The partitions live in a schema of their own, so the main
schema holds only the tables the models name. A default partition catches a row outside every month
made (a clock far off, maintenance that never ran); making its month later moves such rows in.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

SCHEMA = "login_history_partitions"
PARENT = "login_history"
DEFAULT_PARTITION = f"{SCHEMA}.other"
# Held while partitions are made or dropped, so two workers never race to make the same month.
_LOCK_ID = 0x6C6F67696E  # "login"
_CHECK_EVERY = 6 * 3600.0  # seconds between a worker's checks that the coming months exist
_checked_at: float | None = None


def is_partitioned(connection: Connection) -> bool:
    """Whether the login history is a partitioned table here (PostgreSQL), not one plain table (SQLite)."""
    return connection.dialect.name == "postgresql"


def month_start(moment: date | datetime) -> date:
    """The first day of the month `moment` falls in."""
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    """The partition that holds `month`, e.g. `login_history_partitions.y2026m12`."""
    return f"{SCHEMA}.y{month.year:04d}m{month.month:02d}"


def months(connection: Connection) -> list[date]:
    """The months that have a partition, oldest first."""
    names = connection.scalars(
        text(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
            " WHERE pg_inherits.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": PARENT},
    )
    return sorted(date(int(name[1:5]), int(name[6:8]), 1) for name in names if name.startswith("y"))


def make_months(connection: Connection, first: date, last: date) -> list[date]:
    """Make the partition of every month from `first` to `last` that has none; the months made."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LOCK_ID})
    existing, made = set(months(connection)), []
    month = month_start(first)
    while month <= last:
        if month not in existing:
            _make_month(connection, month)
            made.append(month)
        month = next_month(month)
    return made


def _make_month(connection: Connection, month: date) -> None:
    # Made apart and attached, so rows of this month the default partition caught can move in first.
    name, start, end = partition_name(month), month.isoformat(), next_month(month).isoformat()
    connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    caught = f"DELETE FROM {DEFAULT_PARTITION} WHERE time >= :start AND time < :end RETURNING *"  # noqa: S608
    moved = f"WITH moved AS ({caught}) INSERT INTO {name} SELECT * FROM moved"  # noqa: S608
    connection.execute(text(moved), {"start": start, "end": end})
    connection.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')"))


def make_ahead(connection: Connection, months_ahead: int) -> list[date]:
    """Make this month's partition and the next `months_ahead` months'; the months made."""
    this_month = month_start(datetime.now(UTC))
    last = this_month
    for _ in range(months_ahead):
        last = next_month(last)
    return make_months(connection, this_month, last)


def make_ahead_now_and_then(engine: Engine, months_ahead: int) -> None:
    """`make_ahead` on PostgreSQL, at most once in a while per process: what keeps partitions ahead, no cron job
    needed. A failure is logged, not raised: the default partition holds the rows meanwhile."""
    global _checked_at
    now = time.monotonic()
    if engine.dialect.name != "postgresql" or (_checked_at is not None and now - _checked_at < _CHECK_EVERY):
        return
    _checked_at = now
    try:
        with engine.begin() as connection:
            made = make_ahead(connection, months_ahead)
    except SQLAlchemyError:
        log.exception("Could not make the login history partitions of the coming months")
        return
    if made:
        log.info("Made login history partitions for %s", ", ".join(month.strftime("%Y-%m") for month in made))


def drop_before(connection: Connection, before: date) -> list[date]:
    """Drop every partition whose whole month lies before `before`; the months dropped."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LOCK_ID})
    dropped = [month for month in months(connection) if next_month(month) <= before]
    for month in dropped:
        connection.execute(text(f"DROP TABLE {partition_name(month)}"))
    return dropped
