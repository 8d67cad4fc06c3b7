"""`flask app init`: bring the schema up to date and create the default roles and permissions."""

from __future__ import annotations

import click
from flask_migrate import upgrade

from movies_auth.cli.common import AdminGroup
from movies_auth.cli.superuser import create_superuser
from movies_auth.services.permissions import seed_defaults

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
