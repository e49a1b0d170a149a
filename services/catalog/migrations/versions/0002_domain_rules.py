"""the domain's rules end to end: pilot decisions, rollout checklist overrides, retirement notices,
pilots in schools (tool fatigue), licenses' teacher seats and the seats analytics saw used, vendors'
invited people and tool documents

Revision ID: 0002_catalog
Revises: 0001_catalog
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db

revision: str = "0002_catalog"
down_revision: str | None = "0001_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pilot_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"], ["catalog.tool.id"], name=op.f("fk_pilot_decision_tool_id_tool"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_decision")),
        sa.UniqueConstraint(
            "district_id",
            "pilot_id",
            "decided_at",
            name=op.f("uq_pilot_decision_district_id_pilot_id_decided_at"),
        ),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_pilot_decision_district_id"),
        "pilot_decision",
        ["district_id"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_pilot_decision_tool_id"), "pilot_decision", ["tool_id"], unique=False, schema="catalog"
    )
    with op.batch_alter_table("rollout", schema="catalog") as batch:
        batch.add_column(sa.Column("checklist_override_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("checklist_override_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("checklist_override_points", JSON, server_default="[]", nullable=False))
    with op.batch_alter_table("retirement", schema="catalog") as batch:
        batch.add_column(sa.Column("cancelled_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_table(
        "retirement_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("retirement_id", sa.Uuid(), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("teacher_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["retirement_id"],
            ["catalog.retirement.id"],
            name=op.f("fk_retirement_notice_retirement_id_retirement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["catalog.tool.id"],
            name=op.f("fk_retirement_notice_tool_id_tool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retirement_notice")),
        sa.UniqueConstraint(
            "retirement_id",
            "teacher_id",
            "kind",
            name=op.f("uq_retirement_notice_retirement_id_teacher_id_kind"),
        ),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_retirement_notice_district_id_teacher_id"),
        "retirement_notice",
        ["district_id", "teacher_id"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_retirement_notice_status_created_at"),
        "retirement_notice",
        ["status", "created_at"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_retirement_notice_retirement_id"),
        "retirement_notice",
        ["retirement_id"],
        unique=False,
        schema="catalog",
    )

    op.create_table(
        "school_pilot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.String(length=100), nullable=False),
        sa.Column("semester", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"], ["catalog.tool.id"], name=op.f("fk_school_pilot_tool_id_tool"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_pilot")),
        sa.UniqueConstraint("district_id", "pilot_id", name=op.f("uq_school_pilot_district_id_pilot_id")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_school_pilot_district_id_school_id_semester"),
        "school_pilot",
        ["district_id", "school_id", "semester"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_school_pilot_tool_id"), "school_pilot", ["tool_id"], unique=False, schema="catalog"
    )

    with op.batch_alter_table("license", schema="catalog") as batch:
        batch.add_column(sa.Column("teacher_seats", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seats_used", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seats_used_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("seats_used_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("teachers_active", sa.Integer(), nullable=True))

    op.create_table(
        "vendor_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("invited_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["catalog.vendor.id"],
            name=op.f("fk_vendor_member_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_member")),
        sa.UniqueConstraint("district_id", "subject", name=op.f("uq_vendor_member_district_id_subject")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_vendor_member_vendor_id"), "vendor_member", ["vendor_id"], unique=False, schema="catalog"
    )
    op.create_table(
        "tool_document",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("tool_id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"], ["catalog.tool.id"], name=op.f("fk_tool_document_tool_id_tool"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["catalog.vendor.id"],
            name=op.f("fk_tool_document_vendor_id_vendor"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_document")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_tool_document_district_id_tool_id"),
        "tool_document",
        ["district_id", "tool_id"],
        unique=False,
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_table("tool_document", schema="catalog")
    op.drop_table("vendor_member", schema="catalog")
    with op.batch_alter_table("license", schema="catalog") as batch:
        batch.drop_column("teachers_active")
        batch.drop_column("seats_used_to")
        batch.drop_column("seats_used_from")
        batch.drop_column("seats_used")
        batch.drop_column("teacher_seats")
    op.drop_table("school_pilot", schema="catalog")
    op.drop_table("retirement_notice", schema="catalog")
    with op.batch_alter_table("retirement", schema="catalog") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
    with op.batch_alter_table("rollout", schema="catalog") as batch:
        batch.drop_column("checklist_override_points")
        batch.drop_column("checklist_override_by")
        batch.drop_column("checklist_override_reason")
    op.drop_index(op.f("ix_pilot_decision_tool_id"), table_name="pilot_decision", schema="catalog")
    op.drop_index(op.f("ix_pilot_decision_district_id"), table_name="pilot_decision", schema="catalog")
    op.drop_table("pilot_decision", schema="catalog")
