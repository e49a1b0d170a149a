"""SQL of ingestion: claim a delivery, insert events, add them to the rollups, each in one statement.

On PostgreSQL a batch goes in as arrays through `unnest` (one prepared statement whatever the
batch size, no per-event round trip); on SQLite as multi-row VALUES in chunks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.ingest.schemas import Normalized
from services.analytics.models import UsageDaily, UsageEvent, WebhookDelivery
from shared.db import insert_ignoring_conflicts

RollupKey = tuple[dt.date, str, str, str, str]
"""(day, tool_id, user_id, kind, feature) of a usage_daily row."""

_PG_EVENTS = text("""
INSERT INTO analytics.usage_event (district_id, event_id, integration_id, tool_id, user_id, kind, occurred_at,
                                   class_id, feature, duration_s, source, received_at)
SELECT :district_id, e.event_id, CAST(:integration_id AS uuid), e.tool_id, e.user_id, e.kind, e.occurred_at,
       e.class_id, e.feature, e.duration_s, :source, :received_at
FROM unnest(CAST(:event_ids AS text[]), CAST(:tool_ids AS text[]), CAST(:user_ids AS text[]),
            CAST(:kinds AS text[]), CAST(:occurred AS timestamptz[]), CAST(:class_ids AS text[]),
            CAST(:features AS text[]), CAST(:durations AS float8[]))
     AS e(event_id, tool_id, user_id, kind, occurred_at, class_id, feature, duration_s)
ON CONFLICT DO NOTHING
RETURNING event_id
""")

_PG_ROLLUP = text("""
INSERT INTO analytics.usage_daily (district_id, day, tool_id, user_id, kind, feature, week, month, events,
                                   duration_s)
SELECT :district_id, r.day, r.tool_id, r.user_id, r.kind, r.feature, r.week, r.month, r.events, r.duration_s
FROM unnest(CAST(:days AS date[]), CAST(:tool_ids AS text[]), CAST(:user_ids AS text[]),
            CAST(:kinds AS text[]), CAST(:features AS text[]), CAST(:weeks AS date[]),
            CAST(:months AS date[]), CAST(:counts AS int[]), CAST(:durations AS float8[]))
     AS r(day, tool_id, user_id, kind, feature, week, month, events, duration_s)
ON CONFLICT (district_id, day, tool_id, user_id, kind, feature)
DO UPDATE SET events = usage_daily.events + EXCLUDED.events,
              duration_s = usage_daily.duration_s + EXCLUDED.duration_s
""")

_SQLITE_CHUNK = 400


class IngestRepository:
    """Writes one delivery's events and rollups."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self.postgres = bind is not None and bind.dialect.name == "postgresql"

    async def claim_delivery(
        self, *, district_id: str, integration_id: uuid.UUID, webhook_id: str, received_at: dt.datetime
    ) -> bool:
        """Record the webhook-id; False when it was already applied (a replay)."""
        result: Any = await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                WebhookDelivery.__table__,  # type: ignore[arg-type]
                [
                    {
                        "integration_id": integration_id,
                        "webhook_id": webhook_id,
                        "district_id": district_id,
                        "received_at": received_at,
                    }
                ],
                index_elements=["integration_id", "webhook_id"],
            )
        )
        return bool(result.rowcount)

    async def insert_events(
        self,
        *,
        district_id: str,
        integration_id: uuid.UUID,
        source: str,
        received_at: dt.datetime,
        events: Sequence[Normalized],
    ) -> set[str]:
        """Insert events, skipping ids the district already has; returns the ids inserted."""
        if self.postgres:
            result = await self.session.execute(
                _PG_EVENTS,
                {
                    "district_id": district_id,
                    "integration_id": integration_id,
                    "source": source,
                    "received_at": received_at,
                    "event_ids": [e.event_id for e in events],
                    "tool_ids": [e.tool_id for e in events],
                    "user_ids": [e.user_id for e in events],
                    "kinds": [e.kind for e in events],
                    "occurred": [e.occurred_at for e in events],
                    "class_ids": [e.class_id for e in events],
                    "features": [e.feature for e in events],
                    "durations": [e.duration_s for e in events],
                },
            )
            return {row[0] for row in result}
        table: Any = UsageEvent.__table__
        inserted: set[str] = set()
        for start in range(0, len(events), _SQLITE_CHUNK):
            rows = [
                {
                    "district_id": district_id,
                    "event_id": e.event_id,
                    "integration_id": integration_id,
                    "tool_id": e.tool_id,
                    "user_id": e.user_id,
                    "kind": e.kind,
                    "occurred_at": e.occurred_at,
                    "class_id": e.class_id,
                    "feature": e.feature,
                    "duration_s": e.duration_s,
                    "source": source,
                    "received_at": received_at,
                }
                for e in events[start : start + _SQLITE_CHUNK]
            ]
            stmt = sqlite.insert(table).values(rows).on_conflict_do_nothing().returning(table.c.event_id)
            inserted.update(row[0] for row in await self.session.execute(stmt))
        return inserted

    async def add_to_rollups(self, *, district_id: str, totals: dict[RollupKey, tuple[int, float]]) -> None:
        """Add per-(day, tool, user, kind, feature) counts into usage_daily, in key order (no deadlocks)."""
        keys = sorted(totals)
        if not keys:
            return
        weeks = [k[0] - dt.timedelta(days=k[0].weekday()) for k in keys]
        months = [k[0].replace(day=1) for k in keys]
        if self.postgres:
            await self.session.execute(
                _PG_ROLLUP,
                {
                    "district_id": district_id,
                    "days": [k[0] for k in keys],
                    "tool_ids": [k[1] for k in keys],
                    "user_ids": [k[2] for k in keys],
                    "kinds": [k[3] for k in keys],
                    "features": [k[4] for k in keys],
                    "weeks": weeks,
                    "months": months,
                    "counts": [totals[k][0] for k in keys],
                    "durations": [totals[k][1] for k in keys],
                },
            )
            return
        table: Any = UsageDaily.__table__
        for start in range(0, len(keys), _SQLITE_CHUNK):
            chunk = range(start, min(start + _SQLITE_CHUNK, len(keys)))
            rows = [
                {
                    "district_id": district_id,
                    "day": keys[i][0],
                    "tool_id": keys[i][1],
                    "user_id": keys[i][2],
                    "kind": keys[i][3],
                    "feature": keys[i][4],
                    "week": weeks[i],
                    "month": months[i],
                    "events": totals[keys[i]][0],
                    "duration_s": totals[keys[i]][1],
                }
                for i in chunk
            ]
            stmt = sqlite.insert(table).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=["district_id", "day", "tool_id", "user_id", "kind", "feature"],
                set_={
                    "events": table.c.events + stmt.excluded.events,
                    "duration_s": table.c.duration_s + stmt.excluded.duration_s,
                },
            )
            await self.session.execute(stmt)
