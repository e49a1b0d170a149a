"""roster import jobs: uploads kept in chunks until a background job has imported them

Revision ID: 0007_analytics
Revises: 0006_analytics
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0007_analytics"
down_revision: str | None = "0006_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_import_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("upload", shared.db.JSONType, nullable=False),
        sa.Column("progress", shared.db.JSONType, nullable=False),
        sa.Column("result", shared.db.JSONType),
        sa.Column("failure", sa.Text()),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", shared.db.UTCDateTime(timezone=True)),
        sa.Column("finished_at", shared.db.UTCDateTime(timezone=True)),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import_job")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_roster_import_job_state_created_at"),
        "roster_import_job",
        ["state", "created_at"],
        schema="analytics",
    )
    op.create_index(
        op.f("ix_roster_import_job_district_id_created_at"),
        "roster_import_job",
        ["district_id", "created_at"],
        schema="analytics",
    )
    op.create_table(
        "roster_import_chunk",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["analytics.roster_import_job.id"],
            name=op.f("fk_roster_import_chunk_job_id_roster_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "part", "seq", name=op.f("pk_roster_import_chunk")),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("roster_import_chunk", schema="analytics")
    op.drop_index(
        op.f("ix_roster_import_job_district_id_created_at"), "roster_import_job", schema="analytics"
    )
    op.drop_index(op.f("ix_roster_import_job_state_created_at"), "roster_import_job", schema="analytics")
    op.drop_table("roster_import_job", schema="analytics")
