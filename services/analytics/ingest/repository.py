"""SQL of ingestion: claim deliveries, insert events, add them to the rollups, one statement each.

A group of deliveries (possibly of several districts) is written at once. On PostgreSQL rows go
in as arrays through `unnest` (one prepared statement whatever the size, no per-event round
trip); on SQLite as multi-row VALUES in chunks. Keys are written in sorted order so concurrent
groups lock rows in the same order (no deadlocks).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.ingest.schemas import Normalized
from services.analytics.models import UsageDaily, UsageEvent, UsageMonthly, UsageWeekly, WebhookDelivery

DeliveryKey = tuple[uuid.UUID, str]
"""(integration_id, webhook_id)."""
EventRow = tuple[str, uuid.UUID, str, Normalized]
"""(district_id, integration_id, source, event)."""
RollupKey = tuple[str, dt.date, str, str, str, str]
"""(district_id, day, tool_id, user_id, kind, feature) of a usage_daily row."""

_PG_CLAIM = text("""
INSERT INTO analytics.webhook_delivery (integration_id, webhook_id, district_id, received_at)
SELECT d.integration_id, d.webhook_id, d.district_id, :received_at
FROM unnest(CAST(:integration_ids AS uuid[]), CAST(:webhook_ids AS text[]), CAST(:district_ids AS text[]))
     AS d(integration_id, webhook_id, district_id)
ON CONFLICT DO NOTHING
RETURNING integration_id, webhook_id
""")

_PG_EVENTS = text("""
INSERT INTO analytics.usage_event (district_id, event_id, integration_id, tool_id, user_id, kind, occurred_at,
                                   class_id, feature, duration_s, source, received_at)
SELECT e.district_id, e.event_id, e.integration_id, e.tool_id, e.user_id, e.kind, e.occurred_at,
       e.class_id, e.feature, e.duration_s, e.source, :received_at
FROM unnest(CAST(:district_ids AS text[]), CAST(:event_ids AS text[]), CAST(:integration_ids AS uuid[]),
            CAST(:tool_ids AS text[]), CAST(:user_ids AS text[]), CAST(:kinds AS text[]),
            CAST(:occurred AS timestamptz[]), CAST(:class_ids AS text[]), CAST(:features AS text[]),
            CAST(:durations AS float8[]), CAST(:sources AS text[]))
     AS e(district_id, event_id, integration_id, tool_id, user_id, kind, occurred_at, class_id, feature,
          duration_s, source)
ON CONFLICT DO NOTHING
RETURNING district_id, event_id
""")

_PG_ROLLUP = text("""
INSERT INTO analytics.usage_daily (district_id, day, tool_id, user_id, kind, feature, week, month, events,
                                   duration_s)
SELECT r.district_id, r.day, r.tool_id, r.user_id, r.kind, r.feature, r.week, r.month, r.events, r.duration_s
FROM unnest(CAST(:district_ids AS text[]), CAST(:days AS date[]), CAST(:tool_ids AS text[]),
            CAST(:user_ids AS text[]), CAST(:kinds AS text[]), CAST(:features AS text[]),
            CAST(:weeks AS date[]), CAST(:months AS date[]), CAST(:counts AS int[]),
            CAST(:durations AS float8[]))
     AS r(district_id, day, tool_id, user_id, kind, feature, week, month, events, duration_s)
ON CONFLICT (district_id, day, tool_id, user_id, kind, feature)
DO UPDATE SET events = usage_daily.events + EXCLUDED.events,
              duration_s = usage_daily.duration_s + EXCLUDED.duration_s
""")

# Table and column names below are two fixed literals, never input.
_PG_PERIOD_ROLLUP = {
    period: text(f"""
INSERT INTO analytics.usage_{table} (district_id, {period}, tool_id, user_id, kind, feature, events,
                                     duration_s)
SELECT r.district_id, r.period, r.tool_id, r.user_id, r.kind, r.feature, r.events, r.duration_s
FROM unnest(CAST(:district_ids AS text[]), CAST(:periods AS date[]), CAST(:tool_ids AS text[]),
            CAST(:user_ids AS text[]), CAST(:kinds AS text[]), CAST(:features AS text[]),
            CAST(:counts AS int[]), CAST(:durations AS float8[]))
     AS r(district_id, period, tool_id, user_id, kind, feature, events, duration_s)
ON CONFLICT (district_id, {period}, tool_id, user_id, kind, feature)
DO UPDATE SET events = usage_{table}.events + EXCLUDED.events,
              duration_s = usage_{table}.duration_s + EXCLUDED.duration_s
""")  # noqa: S608
    for period, table in (("week", "weekly"), ("month", "monthly"))
}

_SQLITE_CHUNK = 400


class IngestRepository:
    """Writes groups of deliveries: their ids, events and rollups."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self.postgres = bind is not None and bind.dialect.name == "postgresql"

    async def claim_deliveries(
        self, deliveries: Sequence[tuple[DeliveryKey, str]], *, received_at: dt.datetime
    ) -> set[DeliveryKey]:
        """Record webhook-ids ((key, district) pairs); returns the keys not applied before."""
        ordered = sorted(set(deliveries))
        if self.postgres:
            result = await self.session.execute(
                _PG_CLAIM,
                {
                    "received_at": received_at,
                    "integration_ids": [k[0][0] for k in ordered],
                    "webhook_ids": [k[0][1] for k in ordered],
                    "district_ids": [k[1] for k in ordered],
                },
            )
            return {(row[0], row[1]) for row in result}
        table: Any = WebhookDelivery.__table__
        claimed: set[DeliveryKey] = set()
        for start in range(0, len(ordered), _SQLITE_CHUNK):
            rows = [
                {"integration_id": k[0], "webhook_id": k[1], "district_id": d, "received_at": received_at}
                for k, d in ordered[start : start + _SQLITE_CHUNK]
            ]
            stmt = (
                sqlite.insert(table)
                .values(rows)
                .on_conflict_do_nothing()
                .returning(table.c.integration_id, table.c.webhook_id)
            )
            claimed.update((row[0], row[1]) for row in await self.session.execute(stmt))
        return claimed

    async def purge_deliveries(self, *, before: dt.datetime) -> int:
        """Forget webhook-ids received before `before` (older timestamps are refused as stale anyway)."""
        result: Any = await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.received_at < before)
        )
        return int(result.rowcount or 0)

    async def insert_events(
        self, rows: Sequence[EventRow], *, received_at: dt.datetime
    ) -> set[tuple[str, str]]:
        """Insert events, skipping ids their district already has; returns (district, event_id) inserted."""
        if not rows:
            return set()
        if self.postgres:
            result = await self.session.execute(
                _PG_EVENTS,
                {
                    "received_at": received_at,
                    "district_ids": [r[0] for r in rows],
                    "event_ids": [r[3].event_id for r in rows],
                    "integration_ids": [r[1] for r in rows],
                    "tool_ids": [r[3].tool_id for r in rows],
                    "user_ids": [r[3].user_id for r in rows],
                    "kinds": [r[3].kind for r in rows],
                    "occurred": [r[3].occurred_at for r in rows],
                    "class_ids": [r[3].class_id for r in rows],
                    "features": [r[3].feature for r in rows],
                    "durations": [r[3].duration_s for r in rows],
                    "sources": [r[2] for r in rows],
                },
            )
            return {(row[0], row[1]) for row in result}
        table: Any = UsageEvent.__table__
        inserted: set[tuple[str, str]] = set()
        for start in range(0, len(rows), _SQLITE_CHUNK):
            values = [
                {
                    "district_id": d,
                    "event_id": e.event_id,
                    "integration_id": i,
                    "tool_id": e.tool_id,
                    "user_id": e.user_id,
                    "kind": e.kind,
                    "occurred_at": e.occurred_at,
                    "class_id": e.class_id,
                    "feature": e.feature,
                    "duration_s": e.duration_s,
                    "source": s,
                    "received_at": received_at,
                }
                for d, i, s, e in rows[start : start + _SQLITE_CHUNK]
            ]
            stmt = (
                sqlite.insert(table)
                .values(values)
                .on_conflict_do_nothing()
                .returning(table.c.district_id, table.c.event_id)
            )
            inserted.update((row[0], row[1]) for row in await self.session.execute(stmt))
        return inserted

    async def add_to_rollups(self, totals: dict[RollupKey, tuple[int, float]]) -> None:
        """Add per-(district, day, tool, user, kind, feature) counts into the day, week and month rollups."""
        if not totals:
            return
        await self._upsert_daily(totals)
        weekly: dict[RollupKey, tuple[int, float]] = {}
        monthly: dict[RollupKey, tuple[int, float]] = {}
        for (district, day, tool, user, kind, feature), (count, seconds) in totals.items():
            for target, period in (
                (weekly, day - dt.timedelta(days=day.weekday())),
                (monthly, day.replace(day=1)),
            ):
                key = (district, period, tool, user, kind, feature)
                old = target.get(key, (0, 0.0))
                target[key] = (old[0] + count, old[1] + seconds)
        await self._upsert_period(UsageWeekly, "week", weekly)
        await self._upsert_period(UsageMonthly, "month", monthly)

    async def _upsert_daily(self, totals: dict[RollupKey, tuple[int, float]]) -> None:
        keys = sorted(totals)
        weeks = [k[1] - dt.timedelta(days=k[1].weekday()) for k in keys]
        months = [k[1].replace(day=1) for k in keys]
        if self.postgres:
            await self.session.execute(
                _PG_ROLLUP,
                {
                    "district_ids": [k[0] for k in keys],
                    "days": [k[1] for k in keys],
                    "tool_ids": [k[2] for k in keys],
                    "user_ids": [k[3] for k in keys],
                    "kinds": [k[4] for k in keys],
                    "features": [k[5] for k in keys],
                    "weeks": weeks,
                    "months": months,
                    "counts": [totals[k][0] for k in keys],
                    "durations": [totals[k][1] for k in keys],
                },
            )
            return
        await self._sqlite_upsert(
            UsageDaily,
            [
                {
                    "district_id": k[0],
                    "day": k[1],
                    "tool_id": k[2],
                    "user_id": k[3],
                    "kind": k[4],
                    "feature": k[5],
                    "week": w,
                    "month": m,
                    "events": totals[k][0],
                    "duration_s": totals[k][1],
                }
                for k, w, m in zip(keys, weeks, months, strict=True)
            ],
            "day",
        )

    async def _upsert_period(
        self,
        model: type[UsageWeekly] | type[UsageMonthly],
        period: str,
        totals: dict[RollupKey, tuple[int, float]],
    ) -> None:
        keys = sorted(totals)
        if self.postgres:
            await self.session.execute(
                _PG_PERIOD_ROLLUP[period],
                {
                    "district_ids": [k[0] for k in keys],
                    "periods": [k[1] for k in keys],
                    "tool_ids": [k[2] for k in keys],
                    "user_ids": [k[3] for k in keys],
                    "kinds": [k[4] for k in keys],
                    "features": [k[5] for k in keys],
                    "counts": [totals[k][0] for k in keys],
                    "durations": [totals[k][1] for k in keys],
                },
            )
            return
        await self._sqlite_upsert(
            model,
            [
                {
                    "district_id": k[0],
                    period: k[1],
                    "tool_id": k[2],
                    "user_id": k[3],
                    "kind": k[4],
                    "feature": k[5],
                    "events": totals[k][0],
                    "duration_s": totals[k][1],
                }
                for k in keys
            ],
            period,
        )

    async def _sqlite_upsert(self, model: Any, rows: list[dict[str, Any]], period: str) -> None:
        table: Any = model.__table__
        for start in range(0, len(rows), _SQLITE_CHUNK):
            stmt = sqlite.insert(table).values(rows[start : start + _SQLITE_CHUNK])
            stmt = stmt.on_conflict_do_update(
                index_elements=["district_id", period, "tool_id", "user_id", "kind", "feature"],
                set_={
                    "events": table.c.events + stmt.excluded.events,
                    "duration_s": table.c.duration_s + stmt.excluded.duration_s,
                },
            )
            await self.session.execute(stmt)
