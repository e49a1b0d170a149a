"""retirement notices are sent outside the database transaction: a notice is claimed as `sending` (when:
sending_at) and committed before the SMTP conversation, then marked sent; the district's time zone, a
copy of analytics' (its owner) kept from district-time-zone-changed

Revision ID: 0003_catalog
Revises: 0002_catalog
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0003_catalog"
down_revision: str | None = "0002_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "retirement_notice",
        sa.Column("sending_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        schema="catalog",
    )
    op.add_column(
        "district_setting", sa.Column("time_zone", sa.String(length=64), nullable=True), schema="catalog"
    )
    op.add_column(
        "district_setting",
        sa.Column("time_zone_revision", sa.Integer(), nullable=True),
        schema="catalog",
    )


def downgrade() -> None:
    op.drop_column("district_setting", "time_zone_revision", schema="catalog")
    op.drop_column("district_setting", "time_zone", schema="catalog")
    op.execute("UPDATE catalog.retirement_notice SET status = 'pending' WHERE status = 'sending'")
    op.drop_column("retirement_notice", "sending_at", schema="catalog")
