"""the domain's rules end to end: the catalog's reason in the tool copy, time-on-task falls, errors
reported outside pilots

Revision ID: 0002_pilots
Revises: 0001_pilots
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002_pilots"
down_revision: str | None = "0001_pilots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tool", sa.Column("status_reason", sa.Text(), nullable=True), schema="pilots")
    op.add_column(
        "district_setting", sa.Column("time_on_task_drop", sa.Float(), nullable=True), schema="pilots"
    )
    op.create_table(
        "time_on_task_fall",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("pilot_id", sa.Uuid(), nullable=False),
        sa.Column("teacher_id", sa.String(length=200), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("baseline_week", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("detected_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pilot_id"],
            ["pilots.pilot.id"],
            name=op.f("fk_time_on_task_fall_pilot_id_pilot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_on_task_fall")),
        sa.UniqueConstraint(
            "pilot_id", "teacher_id", "week", name=op.f("uq_time_on_task_fall_pilot_id_teacher_id_week")
        ),
        schema="pilots",
    )
    op.create_index(
        op.f("ix_time_on_task_fall_pilot_id"),
        "time_on_task_fall",
        ["pilot_id"],
        unique=False,
        schema="pilots",
    )
    with op.batch_alter_table("error_log", schema="pilots") as batch:
        batch.alter_column("pilot_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM pilots.error_log WHERE pilot_id IS NULL")
    with op.batch_alter_table("error_log", schema="pilots") as batch:
        batch.alter_column("pilot_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index(op.f("ix_time_on_task_fall_pilot_id"), table_name="time_on_task_fall", schema="pilots")
    op.drop_table("time_on_task_fall", schema="pilots")
    op.drop_column("district_setting", "time_on_task_drop", schema="pilots")
    op.drop_column("tool", "status_reason", schema="pilots")
