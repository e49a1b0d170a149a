"""the domain's rules end to end: the adoption day of the tool copy

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


def downgrade() -> None:
    op.drop_column("tool_info", "adopted_on", schema="analytics")
