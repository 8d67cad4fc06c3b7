"""Login history partitioned by month on PostgreSQL; its primary key holds the partition key.

The table is rebuilt as a partitioned one, a partition is made for every month its rows span (and
the months ahead), and the rows move in. SQLite keeps its plain table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from movies_auth.domain import history_partitions

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD = "login_history_unpartitioned"
MONTHS_AHEAD = 3
COLUMNS = "id, user_id, email, time, ip_address, user_agent, success"


def upgrade() -> None:
    connection = op.get_bind()
    if not history_partitions.is_partitioned(connection):
        return
    _set_aside_and_recreate(primary_key=("id", "time"), postgresql_partition_by="RANGE (time)")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {history_partitions.SCHEMA}")
    op.execute(f"CREATE TABLE {history_partitions.DEFAULT_PARTITION} PARTITION OF login_history DEFAULT")
    oldest = connection.scalar(sa.text(f"SELECT min(time) FROM {OLD}")) or datetime.now(UTC)  # noqa: S608 (constant)
    history_partitions.make_months(connection, oldest, datetime.now(UTC).date())
    history_partitions.make_ahead(connection, MONTHS_AHEAD)
    op.execute(f"INSERT INTO login_history ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")  # noqa: S608 (constants)
    op.drop_table(OLD)


def downgrade() -> None:
    connection = op.get_bind()
    if not history_partitions.is_partitioned(connection):
        return
    _set_aside_and_recreate(primary_key=("id",))
    op.execute(f"INSERT INTO login_history ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")  # noqa: S608 (constants)
    op.execute(f"DROP TABLE {OLD} CASCADE")
    op.execute(f"DROP SCHEMA {history_partitions.SCHEMA} CASCADE")


def _set_aside_and_recreate(primary_key: tuple[str, ...], **table_options: str) -> None:
    """Rename login_history (and its named constraints) to OLD, and create it anew with this primary key."""
    op.rename_table("login_history", OLD)
    op.execute(f"ALTER INDEX pk_login_history RENAME TO pk_{OLD}")
    op.execute(f"ALTER INDEX ix_login_history_user_id_time RENAME TO ix_{OLD}_user_id_time")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT fk_login_history_user_id_users TO fk_{OLD}_user_id_users")
    op.create_table(
        "login_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_history_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*primary_key, name=op.f("pk_login_history")),
        **table_options,
    )
    op.create_index("ix_login_history_user_id_time", "login_history", ["user_id", "time"])
