"""academic sessions: OneRoster academicSessions.csv and the classes' termSourcedIds

Revision ID: 0005_analytics
Revises: 0004_analytics
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0005_analytics"
down_revision: str | None = "0004_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_academic_session",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("sourced_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("parent_id", sa.String(length=255)),
        sa.Column("school_year", sa.Integer()),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "sourced_id", name=op.f("pk_roster_academic_session")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_roster_academic_session_district_id_type_start_date"),
        "roster_academic_session",
        ["district_id", "type", "start_date"],
        schema="analytics",
    )
    op.create_table(
        "roster_class_term",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=255), nullable=False),
        sa.Column("term_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "class_id", "term_id", name=op.f("pk_roster_class_term")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_roster_class_term_district_id_term_id"),
        "roster_class_term",
        ["district_id", "term_id"],
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_roster_class_term_district_id_term_id"), "roster_class_term", schema="analytics")
    op.drop_table("roster_class_term", schema="analytics")
    op.drop_index(
        op.f("ix_roster_academic_session_district_id_type_start_date"),
        "roster_academic_session",
        schema="analytics",
    )
    op.drop_table("roster_academic_session", schema="analytics")
