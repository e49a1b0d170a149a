"""outcome evidence: achievement results and outcome analyses

Revision ID: 0008_analytics
Revises: 0007_analytics
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0008_analytics"
down_revision: str | None = "0007_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "achievement_result",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=255), nullable=False),
        sa.Column("assessment", sa.String(length=200), nullable=False),
        sa.Column("administered_on", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scale", sa.String(length=100), nullable=True),
        sa.Column("prior_score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "district_id", "student_id", "assessment", "administered_on", name=op.f("pk_achievement_result")
        ),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_achievement_result_district_id_assessment_administered_on"),
        "achievement_result",
        ["district_id", "assessment", "administered_on"],
        schema="analytics",
    )
    op.create_table(
        "outcome_analysis",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("tool_id", sa.String(length=64), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=True),
        sa.Column("assessment", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("request", shared.db.JSONType, nullable=False),
        sa.Column("result", shared.db.JSONType, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence_attached_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_analysis")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_outcome_analysis_district_id_tool_id"),
        "outcome_analysis",
        ["district_id", "tool_id"],
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outcome_analysis_district_id_tool_id"), "outcome_analysis", schema="analytics")
    op.drop_table("outcome_analysis", schema="analytics")
    op.drop_index(
        op.f("ix_achievement_result_district_id_assessment_administered_on"),
        "achievement_result",
        schema="analytics",
    )
    op.drop_table("achievement_result", schema="analytics")
