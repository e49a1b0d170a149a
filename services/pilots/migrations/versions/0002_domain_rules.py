"""the domain's rules end to end: the catalog's reason in the tool copy

Revision ID: 0002_pilots
Revises: 0001_pilots
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_pilots"
down_revision: str | None = "0001_pilots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tool", sa.Column("status_reason", sa.Text(), nullable=True), schema="pilots")


def downgrade() -> None:
    op.drop_column("tool", "status_reason", schema="pilots")
