"""Initial schema: managed instances, operation history, webhook deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Storage types spelled out here (not imported from store.types) so this file keeps
# describing what it created even when the application types change later.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
AMOUNT = sa.Numeric(18, 8).with_variant(sa.String(40), "sqlite")
LIVE_NAME = sa.text("status != 'deleted'")


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "managed_instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("request", JSON_DOCUMENT, nullable=False),
        sa.Column("cluster_id", sa.String(64), nullable=True),
        sa.Column("region", sa.String(128), nullable=True),
        sa.Column("product_id", sa.String(128), nullable=True),
        sa.Column("product_name", sa.String(255), nullable=True),
        sa.Column("billing_mode", sa.String(32), nullable=True),
        sa.Column("price_per_hour", AMOUNT, nullable=True),
        sa.Column("desired_state", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("auto_stop_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("ready_at", TIMESTAMP, nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("stopped_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("migration_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_migration_at", TIMESTAMP, nullable=True),
        sa.Column("previous_instance_ids", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_managed_instances"),
        sa.UniqueConstraint("instance_id", name="uq_managed_instances_instance_id"),
    )
    op.create_index("ix_managed_instances_name", "managed_instances", ["name"])
    op.create_index("ix_managed_instances_desired_state", "managed_instances", ["desired_state"])
    op.create_index("ix_managed_instances_status", "managed_instances", ["status"])
    op.create_index(
        "uq_managed_instances_live_name",
        "managed_instances",
        ["name"],
        unique=True,
        sqlite_where=LIVE_NAME,
        postgresql_where=LIVE_NAME,
    )

    op.create_table(
        "instance_operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("detail", JSON_DOCUMENT, nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["managed_instances.id"],
            name="fk_instance_operations_record_id_managed_instances",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_instance_operations"),
    )
    op.create_index("ix_instance_operations_record_id", "instance_operations", ["record_id"])
    op.create_index("ix_instance_operations_instance_id", "instance_operations", ["instance_id"])
    op.create_index("ix_instance_operations_kind", "instance_operations", ["kind"])
    op.create_index("ix_instance_operations_at", "instance_operations", ["at"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_instance_id", "webhook_deliveries", ["instance_id"])
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"])
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    """Drop everything this migration created."""
    op.drop_table("webhook_deliveries")
    op.drop_table("instance_operations")
    op.drop_table("managed_instances")
