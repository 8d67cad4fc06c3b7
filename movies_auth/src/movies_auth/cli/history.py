"""`flask history ...`: the login history's monthly partitions, made ahead and dropped after their retention."""

from __future__ import annotations

from datetime import date, datetime

import click

from movies_auth.cli.common import AdminGroup, json_option, print_json
from movies_auth.domain import history_partitions, login_history
from movies_auth.extensions import current_settings, db

history_group = AdminGroup("history", help="Keep the login history: make its coming months, drop old ones.")


@history_group.command("prune")
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Delete every attempt before this day (YYYY-MM-DD). Default: by LOGIN_HISTORY_RETENTION, whole months only.",
)
@json_option
def prune(before: datetime | None, as_json: bool) -> None:
    """Delete old login attempts: whole months drop their partition (PostgreSQL), the rest go row by row."""
    if before is None:
        retention = current_settings().login_history_retention
        if retention is None:
            raise click.UsageError("Give --before DATE, or set LOGIN_HISTORY_RETENTION.")
        cutoff = login_history.retention_cutoff(retention)
    else:
        cutoff = before.date()
    pruned = login_history.prune(cutoff)
    months = [month.strftime("%Y-%m") for month in pruned.months_dropped]
    if as_json:
        deleted = pruned.attempts_deleted
        print_json({"before": cutoff.isoformat(), "months_dropped": months, "attempts_deleted": deleted})
        return
    dropped = f"Dropped the partitions of {', '.join(months)}; " if months else ""
    click.echo(f"{dropped}deleted {pruned.attempts_deleted} login attempts before {cutoff.isoformat()}.")


@history_group.command("partitions")
@json_option
def partitions(as_json: bool) -> None:
    """Make the partitions of this month and the next LOGIN_HISTORY_MONTHS_AHEAD, and list every month's."""
    with db.engine.begin() as connection:
        if not history_partitions.is_partitioned(connection):
            raise click.ClickException("The login history is one plain table here (SQLite): it has no partitions.")
        history_partitions.make_ahead(connection, current_settings().login_history_months_ahead)
        months: list[date] = history_partitions.months(connection)
    if as_json:
        print_json([month.strftime("%Y-%m") for month in months])
        return
    click.echo("\n".join(f"{month:%Y-%m}  {history_partitions.partition_name(month)}" for month in months))
