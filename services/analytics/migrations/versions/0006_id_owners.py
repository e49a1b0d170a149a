"""id owners: find the district of a tool, catalog license or pilot id (shared.ownership)

Revision ID: 0006_analytics
Revises: 0005_analytics
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_analytics"
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (("tool_info", "tool_id"), ("license", "license_id"), ("pilot_cohort", "pilot_id"))


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], schema="analytics")


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table, schema="analytics")
