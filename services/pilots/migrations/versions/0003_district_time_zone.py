"""the district's time zone in pilots: a copy of analytics' (its owner), kept from
district-time-zone-changed

Revision ID: 0003_pilots
Revises: 0002_pilots
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_pilots"
down_revision: str | None = "0002_pilots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "district_setting", sa.Column("time_zone", sa.String(length=64), nullable=True), schema="pilots"
    )
    op.add_column(
        "district_setting",
        sa.Column("time_zone_revision", sa.Integer(), nullable=True),
        schema="pilots",
    )


def downgrade() -> None:
    op.drop_column("district_setting", "time_zone_revision", schema="pilots")
    op.drop_column("district_setting", "time_zone", schema="pilots")
