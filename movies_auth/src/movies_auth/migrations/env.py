"""Alembic environment: migrations run on the app's own engine and metadata (Flask-Migrate)."""

from alembic import context
from flask import current_app

# Logging is the app's (see logging_setup); alembic.ini configures none, so nothing is overridden here.
database = current_app.extensions["migrate"].db
config = context.config
config.set_main_option("sqlalchemy.url", database.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def _configure(**options) -> None:
    context.configure(
        target_metadata=database.metadata,
        **current_app.extensions["migrate"].configure_args,
        **options,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (`flask db upgrade --sql`)."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    with database.engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
