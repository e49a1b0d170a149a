"""SQL of ingestion: claim deliveries, insert their events, maintain the rollups.

A group of deliveries (possibly of several districts) is written at once. On PostgreSQL that is
ONE statement: arrays go in through `unnest` and data-modifying CTEs claim the webhook-ids, insert
the events of claimed deliveries (ON CONFLICT DO NOTHING) and add what was inserted to the daily
rollup and to the dashboard aggregates (presence masks, first-seen rows and
group counters: see dashboards/aggregates.py), whatever the group size. On SQLite (the embedded
default) the same steps run one by one as multi-row VALUES in chunks. Rows are written in key
order so concurrent groups lock them in the same order (no deadlocks).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.dashboards.aggregates import add_to_aggregates, aggregates_lock
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import UsageDaily, UsageEvent, WebhookDelivery
from shared.db import advisory_lock

DeliveryKey = tuple[uuid.UUID, str]
"""(integration_id, webhook_id)."""
EventRow = tuple[str, uuid.UUID, str, Normalized]
"""(district_id, integration_id, source, event)."""
RollupKey = tuple[str, dt.date, str, str, str, str]
"""(district_id, day, tool_id, user_id, kind, feature) of a usage_daily row."""


_PG_GROUP = text("""
WITH claimed AS (
    INSERT INTO analytics.webhook_delivery (integration_id, webhook_id, district_id, received_at)
    SELECT d.integration_id, d.webhook_id, d.district_id, :received_at
    FROM unnest(CAST(:d_integration_ids AS uuid[]), CAST(:d_webhook_ids AS text[]),
                CAST(:d_district_ids AS text[])) AS d(integration_id, webhook_id, district_id)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING integration_id, webhook_id
), inserted AS (
    INSERT INTO analytics.usage_event (district_id, event_id, integration_id, tool_id, user_id, kind,
                                       occurred_at, class_id, feature, duration_s, source, received_at)
    SELECT e.district_id, e.event_id, e.integration_id, e.tool_id, e.user_id, e.kind, e.occurred_at,
           e.class_id, e.feature, e.duration_s, e.source, :received_at
    FROM unnest(CAST(:integration_ids AS uuid[]), CAST(:webhook_ids AS text[]), CAST(:district_ids AS text[]),
                CAST(:event_ids AS text[]), CAST(:tool_ids AS text[]), CAST(:user_ids AS text[]),
                CAST(:kinds AS text[]), CAST(:occurred AS timestamptz[]), CAST(:class_ids AS text[]),
                CAST(:features AS text[]), CAST(:durations AS float8[]), CAST(:sources AS text[]))
         AS e(integration_id, webhook_id, district_id, event_id, tool_id, user_id, kind, occurred_at,
              class_id, feature, duration_s, source)
    JOIN claimed c ON c.integration_id = e.integration_id AND c.webhook_id = e.webhook_id
    ORDER BY e.district_id, e.event_id
    ON CONFLICT DO NOTHING
    RETURNING district_id, event_id, tool_id, user_id, kind, occurred_at, feature, duration_s
), src AS (
    SELECT district_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, tool_id, user_id, kind,
           coalesce(feature, '') AS feature, coalesce(duration_s, 0) AS duration_s
    FROM inserted
), daily AS (
    INSERT INTO analytics.usage_daily AS t (district_id, day, tool_id, user_id, kind, feature, week, month,
                                            events, duration_s)
    SELECT district_id, day, tool_id, user_id, kind, feature, date_trunc('week', day::timestamp)::date,
           date_trunc('month', day::timestamp)::date, count(*), sum(duration_s)
    FROM src GROUP BY district_id, day, tool_id, user_id, kind, feature ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (district_id, day, tool_id, user_id, kind, feature)
    DO UPDATE SET events = t.events + EXCLUDED.events, duration_s = t.duration_s + EXCLUDED.duration_s
), presence AS (
    INSERT INTO analytics.usage_presence AS t (district_id, month, tool_id, user_id, days)
    SELECT district_id, date_trunc('month', day::timestamp)::date, tool_id, user_id,
           bit_or(1 << (extract(day FROM day)::int - 1))
    FROM src GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (district_id, month, tool_id, user_id) DO UPDATE SET days = t.days | EXCLUDED.days
), per AS (
    SELECT s.district_id, p.period, p.period_start, t.tool_id, s.user_id, s.kind, s.feature
    FROM src s
    CROSS JOIN LATERAL (VALUES ('week', date_trunc('week', s.day::timestamp)::date),
                               ('month', date_trunc('month', s.day::timestamp)::date))
         AS p(period, period_start)
    CROSS JOIN LATERAL (VALUES (s.tool_id), ('')) AS t(tool_id)
), seen AS (
    INSERT INTO analytics.usage_seen (district_id, period, period_start, tool_id, kind, feature, user_id)
    SELECT DISTINCT district_id, period, period_start, tool_id, kind,
           CASE WHEN kind = 'login' THEN '' ELSE feature END, user_id
    FROM per WHERE kind IN ('login', 'feature_used') ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT DO NOTHING
    RETURNING district_id, period, period_start, tool_id, kind, feature, user_id
), movers AS (
    SELECT DISTINCT district_id, user_id FROM src
), grp AS (
    SELECT u.district_id, u.user_id, g.school_id, g.dim, g.value
    FROM movers u
    JOIN analytics.roster_user_group g ON g.district_id = u.district_id AND g.user_id = u.user_id
    UNION ALL
    SELECT u.district_id, u.user_id, '', d.dim, d.value
    FROM movers u
    CROSS JOIN (VALUES ('grade', 'unassigned'), ('subject', 'unassigned'), ('all', '')) AS d(dim, value)
    WHERE NOT EXISTS (SELECT 1 FROM analytics.roster_user_group x
                      WHERE x.district_id = u.district_id AND x.user_id = u.user_id)
), hits AS (
    SELECT p.district_id, p.period, p.period_start, p.tool_id, g.school_id, g.dim, g.value, p.kind,
           1 AS events, 0 AS users
    FROM per p JOIN grp g ON g.district_id = p.district_id AND g.user_id = p.user_id
    UNION ALL
    SELECT p.district_id, p.period, p.period_start, p.tool_id, g.school_id, 'feature', p.feature, p.kind, 1, 0
    FROM per p JOIN grp g ON g.district_id = p.district_id AND g.user_id = p.user_id AND g.dim = 'all'
    WHERE p.kind = 'feature_used'
    UNION ALL
    SELECT s.district_id, s.period, s.period_start, s.tool_id, g.school_id, g.dim, g.value, s.kind, 0, 1
    FROM seen s JOIN grp g ON g.district_id = s.district_id AND g.user_id = s.user_id
    WHERE s.kind = 'login'
    UNION ALL
    SELECT s.district_id, s.period, s.period_start, s.tool_id, g.school_id, 'feature', s.feature, s.kind, 0, 1
    FROM seen s JOIN grp g ON g.district_id = s.district_id AND g.user_id = s.user_id AND g.dim = 'all'
    WHERE s.kind = 'feature_used'
), counts AS (
    INSERT INTO analytics.usage_count AS t (district_id, period, tool_id, school_id, dim, kind, period_start,
                                            value, events, users)
    SELECT district_id, period, tool_id, school_id, dim, kind, period_start, value, sum(events), sum(users)
    FROM hits GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (district_id, period, tool_id, school_id, dim, kind, period_start, value)
    DO UPDATE SET events = t.events + EXCLUDED.events, users = t.users + EXCLUDED.users
)
SELECT 'claimed' AS what, integration_id::text AS a, webhook_id AS b FROM claimed
UNION ALL
SELECT 'inserted', district_id, event_id FROM inserted
""")

_SQLITE_CHUNK = 400


GroupEvent = tuple[DeliveryKey, str, str, Normalized]
"""(delivery key, district_id, source, event) of a group being written."""


def daily_totals(rows: Sequence[EventRow]) -> dict[RollupKey, tuple[int, float]]:
    """Sum events into usage_daily keys: (district, day, tool, user, kind, feature) -> (count, seconds)."""
    totals: dict[RollupKey, tuple[int, float]] = {}
    for district_id, _, _, e in rows:
        key = (district_id, e.occurred_at.date(), e.tool_id, e.user_id, e.kind, e.feature or "")
        count, seconds = totals.get(key, (0, 0.0))
        totals[key] = (count + 1, seconds + (e.duration_s or 0.0))
    return totals


class IngestRepository:
    """Writes groups of deliveries: their ids, events and rollups."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self.postgres = bind is not None and bind.dialect.name == "postgresql"

    async def _claim_deliveries(
        self, deliveries: Sequence[tuple[DeliveryKey, str]], *, received_at: dt.datetime
    ) -> set[DeliveryKey]:
        """Record webhook-ids ((key, district) pairs); returns the keys not applied before."""
        ordered = sorted(set(deliveries))
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

    async def write_group(
        self,
        deliveries: Sequence[tuple[DeliveryKey, str]],
        events: Sequence[GroupEvent],
        *,
        received_at: dt.datetime,
    ) -> tuple[set[DeliveryKey], set[tuple[str, str]]]:
        """Claim the deliveries, insert the events of claimed ones, maintain the rollups.

        Returns the delivery keys claimed now (others are replays) and the (district, event_id) inserted.
        On PostgreSQL this is one statement (data-modifying CTEs) whatever the group size.
        """
        if not self.postgres:
            return await self._write_group_stepwise(deliveries, events, received_at=received_at)
        ordered = sorted(set(deliveries))
        # Shared: groups ingest side by side, but never while a rebuild recomputes these districts.
        await advisory_lock(self.session, *{aggregates_lock(k[1]) for k in ordered}, shared=True)
        result = await self.session.execute(
            _PG_GROUP,
            {
                "received_at": received_at,
                "d_integration_ids": [k[0][0] for k in ordered],
                "d_webhook_ids": [k[0][1] for k in ordered],
                "d_district_ids": [k[1] for k in ordered],
                "integration_ids": [g[0][0] for g in events],
                "webhook_ids": [g[0][1] for g in events],
                "district_ids": [g[1] for g in events],
                "event_ids": [g[3].event_id for g in events],
                "tool_ids": [g[3].tool_id for g in events],
                "user_ids": [g[3].user_id for g in events],
                "kinds": [g[3].kind for g in events],
                "occurred": [g[3].occurred_at for g in events],
                "class_ids": [g[3].class_id for g in events],
                "features": [g[3].feature for g in events],
                "durations": [g[3].duration_s for g in events],
                "sources": [g[2] for g in events],
            },
        )
        claimed: set[DeliveryKey] = set()
        inserted: set[tuple[str, str]] = set()
        for what, a, b in result:
            if what == "claimed":
                claimed.add((uuid.UUID(a), b))
            else:
                inserted.add((a, b))
        return claimed, inserted

    async def _write_group_stepwise(
        self,
        deliveries: Sequence[tuple[DeliveryKey, str]],
        events: Sequence[GroupEvent],
        *,
        received_at: dt.datetime,
    ) -> tuple[set[DeliveryKey], set[tuple[str, str]]]:
        claimed = await self._claim_deliveries(deliveries, received_at=received_at)
        rows: dict[tuple[str, str], EventRow] = {}
        for key, district_id, source, event in events:
            if key in claimed:
                rows.setdefault((district_id, event.event_id), (district_id, key[0], source, event))
        ordered = [rows[k] for k in sorted(rows)]
        inserted = await self._insert_events(ordered, received_at=received_at)
        fresh = [r for r in ordered if (r[0], r[3].event_id) in inserted]
        await self._add_to_rollups(daily_totals(fresh))
        await add_to_aggregates(
            self.session,
            [
                (d, e.occurred_at.date(), e.tool_id, e.user_id, e.kind, e.feature or "")
                for d, _, _, e in fresh
            ],
        )
        return claimed, inserted

    async def purge_deliveries(self, *, before: dt.datetime) -> int:
        """Forget webhook-ids received before `before` (older timestamps are refused as stale anyway)."""
        result: Any = await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.received_at < before)
        )
        return int(result.rowcount or 0)

    async def _insert_events(
        self, rows: Sequence[EventRow], *, received_at: dt.datetime
    ) -> set[tuple[str, str]]:
        """Insert events, skipping ids their district already has; returns (district, event_id) inserted."""
        if not rows:
            return set()
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

    async def _add_to_rollups(self, totals: dict[RollupKey, tuple[int, float]]) -> None:
        """Add per-(district, day, tool, user, kind, feature) counts into the daily rollup."""
        if totals:
            await self._upsert_daily(totals)

    async def _upsert_daily(self, totals: dict[RollupKey, tuple[int, float]]) -> None:
        keys = sorted(totals)
        weeks = [k[1] - dt.timedelta(days=k[1].weekday()) for k in keys]
        months = [k[1].replace(day=1) for k in keys]
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
