"""the domain's rules end to end: the adoption day of the tool copy, each district's time zone, TAM as
pilots' one instrument

Revision ID: 0009_analytics
Revises: 0008_analytics
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_analytics"
down_revision: str | None = "0008_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tool_info", sa.Column("adopted_on", sa.Date(), nullable=True), schema="analytics")
    # Tools adopted before the day was kept: the last time their copy changed is the best guess we have.
    tool_info = sa.table(
        "tool_info", sa.column("status"), sa.column("updated_at"), sa.column("adopted_on"), schema="analytics"
    )
    day = (
        sa.func.date(tool_info.c.updated_at)
        if op.get_bind().dialect.name == "sqlite"
        else sa.cast(tool_info.c.updated_at, sa.Date)
    )
    op.execute(tool_info.update().where(tool_info.c.status == "adopted").values(adopted_on=day))

    op.add_column(
        "district_setting", sa.Column("time_zone", sa.String(length=64), nullable=True), schema="analytics"
    )
    if op.get_bind().dialect.name == "postgresql":
        # The day of a moment in its district's time zone (UTC without one): counting's one definition of
        # a usage event's day; SQLite connections get a Python `local_day(ts, tz)` (shared.db).
        op.execute(
            """CREATE FUNCTION analytics.local_day(ts timestamptz, district text) RETURNS date
            LANGUAGE sql STABLE PARALLEL SAFE AS $$
              SELECT (ts AT TIME ZONE coalesce(
                (SELECT time_zone FROM analytics.district_setting WHERE district_id = district), 'UTC'))::date
            $$"""
        )

    # TAM answers are pilots' (one instrument, scale and threshold): answers and positive answers. The
    # answers staff entered here (1-7 means of two scales) count as two answers, positive at 5 or more.
    with op.batch_alter_table("tam_response", schema="analytics") as batch:
        batch.add_column(sa.Column("pilot_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("phase", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("answers", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("positive", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("buy_in_target", sa.Float(), nullable=True))
    tam = sa.table(
        "tam_response",
        sa.column("answers"),
        sa.column("positive"),
        sa.column("perceived_usefulness"),
        sa.column("perceived_ease_of_use"),
        schema="analytics",
    )
    agree = sa.case((tam.c.perceived_usefulness >= 5, 1), else_=0) + sa.case(
        (tam.c.perceived_ease_of_use >= 5, 1), else_=0
    )
    op.execute(tam.update().values(answers=2, positive=agree))
    with op.batch_alter_table("tam_response", schema="analytics") as batch:
        batch.drop_column("perceived_usefulness")
        batch.drop_column("perceived_ease_of_use")
        batch.create_unique_constraint(
            op.f("uq_tam_response_district_id_pilot_id_respondent_id_phase"),
            ["district_id", "pilot_id", "respondent_id", "phase"],
        )
    with op.batch_alter_table("district_setting", schema="analytics") as batch:
        batch.drop_column("buy_in_target")
        batch.drop_column("tam_agree_min")


def downgrade() -> None:
    with op.batch_alter_table("district_setting", schema="analytics") as batch:
        batch.add_column(sa.Column("tam_agree_min", sa.Float(), nullable=True))
        batch.add_column(sa.Column("buy_in_target", sa.Float(), nullable=True))
    op.execute("DELETE FROM analytics.tam_response WHERE pilot_id IS NOT NULL")
    with op.batch_alter_table("tam_response", schema="analytics") as batch:
        batch.drop_constraint(
            op.f("uq_tam_response_district_id_pilot_id_respondent_id_phase"), type_="unique"
        )
        batch.add_column(sa.Column("perceived_usefulness", sa.Float(), server_default="1", nullable=False))
        batch.add_column(sa.Column("perceived_ease_of_use", sa.Float(), server_default="1", nullable=False))
        batch.drop_column("buy_in_target")
        batch.drop_column("positive")
        batch.drop_column("answers")
        batch.drop_column("phase")
        batch.drop_column("pilot_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION analytics.local_day(timestamptz, text)")
    op.drop_column("district_setting", "time_zone", schema="analytics")
    op.drop_column("tool_info", "adopted_on", schema="analytics")
