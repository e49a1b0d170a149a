"""usage events partitioned by month (PostgreSQL), their ids apart, a per-district retention

Revision ID: 0003_analytics
Revises: 0002_analytics
Create Date: 2026-11-26 11:10:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0003_analytics"
down_revision: str | None = "0002_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _months_around(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for shift in range(-2, 3):
        year, month = divmod(first.year * 12 + first.month - 1 + shift, 12)
        out.append(dt.date(year, month + 1, 1))
    return out


def upgrade() -> None:
    op.add_column(
        "district_setting",
        sa.Column("retention_school_years", sa.Integer(), nullable=True),
        schema="analytics",
    )
    op.drop_index(
        "ix_usage_event_district_id_tool_id_occurred_at", table_name="usage_event", schema="analytics"
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite: one file, no partitions; the table's key de-duplicates
    op.create_table(
        "usage_event_key",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("district_id", "event_id", name=op.f("pk_usage_event_key")),
        schema="analytics",
    )
    op.execute("ALTER TABLE analytics.usage_event RENAME TO usage_event_unpartitioned")
    op.execute("ALTER INDEX analytics.pk_usage_event RENAME TO pk_usage_event_unpartitioned")
    op.execute(
        "CREATE TABLE analytics.usage_event (LIKE analytics.usage_event_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (occurred_at)"
    )
    op.execute("CREATE TABLE analytics.usage_event_default PARTITION OF analytics.usage_event DEFAULT")
    months = {
        row[0]
        for row in bind.execute(
            sa.text(
                "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date "
                "FROM analytics.usage_event_unpartitioned"
            )
        )
    } | set(_months_around(dt.datetime.now(dt.UTC).date()))
    for month in sorted(months):
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        op.execute(
            f"CREATE TABLE analytics.usage_event_{month:%Y_%m} PARTITION OF analytics.usage_event "
            f"FOR VALUES FROM ('{month.isoformat()} 00:00+00') TO ('{end.isoformat()} 00:00+00')"
        )
    op.execute("INSERT INTO analytics.usage_event SELECT * FROM analytics.usage_event_unpartitioned")
    op.execute(
        "INSERT INTO analytics.usage_event_key (district_id, event_id, occurred_at) "
        "SELECT district_id, event_id, occurred_at FROM analytics.usage_event_unpartitioned"
    )
    op.execute("DROP TABLE analytics.usage_event_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE analytics.usage_event RENAME TO usage_event_partitioned")
        op.execute(
            "CREATE TABLE analytics.usage_event (LIKE analytics.usage_event_partitioned INCLUDING DEFAULTS)"
        )
        op.execute("INSERT INTO analytics.usage_event SELECT * FROM analytics.usage_event_partitioned")
        op.execute("DROP TABLE analytics.usage_event_partitioned")
        op.execute(
            "ALTER TABLE analytics.usage_event ADD CONSTRAINT pk_usage_event PRIMARY KEY (district_id, event_id)"
        )
        op.drop_table("usage_event_key", schema="analytics")
    op.create_index(
        "ix_usage_event_district_id_tool_id_occurred_at",
        "usage_event",
        ["district_id", "tool_id", "occurred_at"],
        unique=False,
        schema="analytics",
    )
    op.drop_column("district_setting", "retention_school_years", schema="analytics")
