"""real senders: roster identifiers, unmatched actors, unrecognized verbs, vocabulary overrides

Revision ID: 0004_analytics
Revises: 0003_analytics
Create Date: 2026-12-04 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0004_analytics"
down_revision: str | None = "0003_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integration", schema="analytics") as batch:
        batch.add_column(sa.Column("vocabulary", shared.db.JSONType, nullable=False, server_default="{}"))
    with op.batch_alter_table("counting_state", schema="analytics") as batch:
        batch.add_column(sa.Column("rebuild_requested_at", shared.db.UTCDateTime(timezone=True)))
    with op.batch_alter_table("roster_user", schema="analytics") as batch:
        batch.add_column(sa.Column("identifier", sa.String(length=255)))
        batch.add_column(sa.Column("username", sa.String(length=255)))
        batch.add_column(sa.Column("user_ids", shared.db.JSONType, nullable=False, server_default="[]"))
    op.create_table(
        "roster_identity",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "key", name=op.f("pk_roster_identity")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_roster_identity_district_id_user_id"),
        "roster_identity",
        ["district_id", "user_id"],
        schema="analytics",
    )
    op.create_table(
        "unmatched_actor",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("actor_key", sa.String(length=255), nullable=False),
        sa.Column("identifiers", shared.db.JSONType, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "district_id", "integration_id", "actor_key", name=op.f("pk_unmatched_actor")
        ),
        schema="analytics",
    )
    op.create_table(
        "unrecognized_activity",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("integration_id", "name", name=op.f("pk_unrecognized_activity")),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("unrecognized_activity", schema="analytics")
    op.drop_table("unmatched_actor", schema="analytics")
    op.drop_index(op.f("ix_roster_identity_district_id_user_id"), "roster_identity", schema="analytics")
    op.drop_table("roster_identity", schema="analytics")
    with op.batch_alter_table("roster_user", schema="analytics") as batch:
        batch.drop_column("user_ids")
        batch.drop_column("username")
        batch.drop_column("identifier")
    with op.batch_alter_table("counting_state", schema="analytics") as batch:
        batch.drop_column("rebuild_requested_at")
    with op.batch_alter_table("integration", schema="analytics") as batch:
        batch.drop_column("vocabulary")
