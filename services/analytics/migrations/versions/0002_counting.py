"""counting after the append: the pending-events queue and the per-district regroup state

Revision ID: 0002_analytics
Revises: 0001_analytics
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002_analytics"
down_revision: str | None = "0001_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_pending",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tool_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("received_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_pending")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_usage_pending_shard_id"), "usage_pending", ["shard", "id"], unique=False, schema="analytics"
    )
    op.create_index(
        op.f("ix_usage_pending_district_id_received_at"),
        "usage_pending",
        ["district_id", "received_at"],
        unique=False,
        schema="analytics",
    )
    op.create_table(
        "counting_state",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("regroup_requested_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("regrouped_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("district_id", name=op.f("pk_counting_state")),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("counting_state", schema="analytics")
    op.drop_index(
        op.f("ix_usage_pending_district_id_received_at"), table_name="usage_pending", schema="analytics"
    )
    op.drop_index(op.f("ix_usage_pending_shard_id"), table_name="usage_pending", schema="analytics")
    op.drop_table("usage_pending", schema="analytics")
