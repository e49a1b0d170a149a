"""the domain's rules end to end: the adoption day of the tool copy, each district's time zone

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


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION analytics.local_day(timestamptz, text)")
    op.drop_column("district_setting", "time_zone", schema="analytics")
    op.drop_column("tool_info", "adopted_on", schema="analytics")
