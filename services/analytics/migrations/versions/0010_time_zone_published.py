"""the district's time zone is published: districts that set one before are announced once through the
outbox (district-time-zone-changed, revision 1), so the services keeping a copy learn it; each district
counts its changes (time_zone_revision)

Revision ID: 0010_analytics
Revises: 0009_analytics
Create Date: 2026-12-04 21:30:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.events import CloudEvent, DistrictTimeZoneChanged

revision: str = "0010_analytics"
down_revision: str | None = "0009_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "district_setting",
        sa.Column("time_zone_revision", sa.Integer(), server_default="0", nullable=False),
        schema="analytics",
    )
    setting = sa.table(
        "district_setting",
        sa.column("district_id"),
        sa.column("time_zone"),
        sa.column("time_zone_revision"),
        schema="analytics",
    )
    op.execute(setting.update().where(setting.c.time_zone.is_not(None)).values(time_zone_revision=1))
    outbox = sa.table(
        "outbox_event",
        sa.column("event_id"),
        sa.column("topic"),
        sa.column("key"),
        sa.column("event_type"),
        sa.column("payload"),
        sa.column("headers", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        schema="analytics",
    )
    now = dt.datetime.now(dt.UTC)
    zones = op.get_bind().execute(
        sa.select(setting.c.district_id, setting.c.time_zone).where(setting.c.time_zone.is_not(None))
    )
    for district_id, time_zone in zones.all():
        payload = DistrictTimeZoneChanged(
            district_id=district_id, time_zone=time_zone, revision=1, changed_at=now
        )
        event = CloudEvent.wrap(payload, source="/edtech/analytics", district_id=district_id)
        op.execute(
            outbox.insert().values(
                event_id=event.id,
                topic=payload.topic,
                key=payload.key(),
                event_type=event.type,
                payload=event.to_bytes().decode(),
                headers={"district_id": district_id},
                created_at=event.time,
            )
        )


def downgrade() -> None:
    op.drop_column("district_setting", "time_zone_revision", schema="analytics")  # what was published stays
