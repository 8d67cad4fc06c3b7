"""Accounts, login history, roles and permissions.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _named_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("name", name=op.f(f"uq_{name}_name")),
    )


def _association(name: str, left: str, right: str) -> None:
    op.create_table(
        name,
        sa.Column(f"{left}_id", sa.Uuid(), nullable=False),
        sa.Column(f"{right}_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            [f"{left}_id"], [f"{left}s.id"], name=op.f(f"fk_{name}_{left}_id_{left}s"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            [f"{right}_id"], [f"{right}s.id"], name=op.f(f"fk_{name}_{right}_id_{right}s"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(f"{left}_id", f"{right}_id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_{right}_id"), name, [f"{right}_id"])


def upgrade() -> None:
    _named_table("permissions")
    _named_table("roles")
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=True),
        sa.Column("last_name", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_history")),
    )
    op.create_index("ix_login_history_user_id_time", "login_history", ["user_id", "time"])
    _association("role_permissions", "role", "permission")
    _association("user_roles", "user", "role")
    _association("user_permissions", "user", "permission")


def downgrade() -> None:
    for table in (
        "user_permissions",
        "user_roles",
        "role_permissions",
        "login_history",
        "users",
        "roles",
        "permissions",
    ):
        op.drop_table(table)
