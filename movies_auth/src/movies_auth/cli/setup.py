"""`flask app init`: bring the schema up to date and create the default roles and permissions."""

from __future__ import annotations

import time

import click
from flask_migrate import upgrade

from movies_auth.cli.common import AdminGroup
from movies_auth.cli.superuser import create_superuser
from movies_auth.domain.permissions import seed_defaults
from movies_auth.stores.readiness import check_stores

app_group = AdminGroup("app", help="Set up the service.")


@app_group.command("init")
@click.option("--with-superuser", is_flag=True, help="Also create a superuser (prompts for the details).")
@click.pass_context
def init(ctx: click.Context, with_superuser: bool) -> None:
    """Migrate the database, then create the default permissions and roles (idempotent)."""
    upgrade()
    created = seed_defaults()
    click.echo("Database schema is up to date.")
    click.echo(f"Created {', '.join(created)}." if created else "Default roles and permissions already exist.")
    if with_superuser:
        ctx.invoke(create_superuser)


@app_group.command("wait")
@click.option("--timeout", type=click.FloatRange(0, 3600), default=60, show_default=True, help="Seconds to wait.")
def wait(timeout: float) -> None:
    """Wait until the database and Redis answer (a container's first step); exit 1 if they do not in time."""
    deadline = time.monotonic() + timeout
    while True:
        checks = check_stores()
        down = [name for name, state in checks.items() if state != "ok"]
        if not down:
            click.echo("The database and Redis answer.")
            return
        if time.monotonic() >= deadline:
            raise click.ClickException(f"Gave up after {timeout:g} s: {' and '.join(down)} unavailable.")
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
