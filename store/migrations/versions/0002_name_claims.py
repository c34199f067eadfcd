"""Name claims: one provisioning at a time may rent a machine under a name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the name_claims table (the name is its primary key: one holder at a time)."""
    op.create_table(
        "name_claims",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_name_claims"),
    )


def downgrade() -> None:
    """Drop the name_claims table."""
    op.drop_table("name_claims")
