# ruff: noqa: S608  (statements are assembled from constants of `counting.rules`, never from input)
"""SQL of ingestion: claim deliveries, append their events, queue them for counting.

A group of deliveries (possibly of several districts) is written at once. On PostgreSQL that is
ONE statement: arrays go in through `unnest` and data-modifying CTEs claim the webhook-ids, claim the
event ids of claimed deliveries in `usage_event_key` (ON CONFLICT DO NOTHING: an event id is stored
once per district), append the events whose id was new to the month-partitioned `usage_event`, and
queue them in `usage_pending`, whatever the group size. On SQLite (the embedded
default) the same steps run one by one in chunks. No aggregate is touched here: the counting
workers derive them after the commit (`services/analytics/counting`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting import rules
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import UsageEvent, WebhookDelivery
from shared.db import on_postgresql

DeliveryKey = tuple[uuid.UUID, str]
"""(integration_id, webhook_id)."""
EventRow = tuple[str, uuid.UUID, str, Normalized]
"""(district_id, integration_id, source, event)."""
GroupEvent = tuple[DeliveryKey, str, str, Normalized]
"""(delivery key, district_id, source, event) of a group being written."""

_PG_GROUP = text(
    """WITH claimed AS (
    INSERT INTO analytics.webhook_delivery (integration_id, webhook_id, district_id, received_at)
    SELECT d.integration_id, d.webhook_id, d.district_id, :received_at
    FROM unnest(CAST(:d_integration_ids AS uuid[]), CAST(:d_webhook_ids AS text[]),
                CAST(:d_district_ids AS text[])) AS d(integration_id, webhook_id, district_id)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING integration_id, webhook_id
), input AS (
    SELECT e.*
    FROM unnest(CAST(:integration_ids AS uuid[]), CAST(:webhook_ids AS text[]), CAST(:district_ids AS text[]),
                CAST(:event_ids AS text[]), CAST(:tool_ids AS text[]), CAST(:user_ids AS text[]),
                CAST(:kinds AS text[]), CAST(:occurred AS timestamptz[]), CAST(:class_ids AS text[]),
                CAST(:features AS text[]), CAST(:durations AS float8[]), CAST(:sources AS text[]))
         WITH ORDINALITY AS e(integration_id, webhook_id, district_id, event_id, tool_id, user_id, kind,
                              occurred_at, class_id, feature, duration_s, source, n)
    JOIN claimed c ON c.integration_id = e.integration_id AND c.webhook_id = e.webhook_id
), firsts AS (  -- an id repeated in the group: the first one is kept
    SELECT DISTINCT ON (district_id, event_id) * FROM input ORDER BY district_id, event_id, n
), keyed AS (
    INSERT INTO analytics.usage_event_key (district_id, event_id, occurred_at)
    SELECT district_id, event_id, occurred_at FROM firsts ORDER BY district_id, event_id
    ON CONFLICT DO NOTHING
    RETURNING district_id, event_id
), inserted AS (
    INSERT INTO analytics.usage_event (district_id, event_id, integration_id, tool_id, user_id, kind,
                                       occurred_at, class_id, feature, duration_s, source, received_at)
    SELECT f.district_id, f.event_id, f.integration_id, f.tool_id, f.user_id, f.kind, f.occurred_at,
           f.class_id, f.feature, f.duration_s, f.source, :received_at
    FROM firsts f JOIN keyed k ON k.district_id = f.district_id AND k.event_id = f.event_id
    RETURNING district_id, event_id, tool_id, user_id, kind, occurred_at, feature, duration_s, received_at
), queued AS (
    INSERT INTO analytics.usage_pending ({columns})
    SELECT {event} FROM inserted
)
SELECT 'claimed' AS what, integration_id::text AS a, webhook_id AS b FROM claimed
UNION ALL
SELECT 'inserted', district_id, event_id FROM inserted
""".format(columns=rules.EVENT_COLUMNS, event=rules.EVENT.format(**rules.DIALECTS["postgresql"]))
)
_SQLITE_QUEUE = f"""
INSERT INTO analytics.usage_pending ({rules.EVENT_COLUMNS})
SELECT {rules.EVENT.format(**rules.DIALECTS["sqlite"])} FROM analytics.usage_event
WHERE district_id = :d AND event_id IN :ids
"""
_SQLITE_CHUNK = 400


class IngestRepository:
    """Writes groups of deliveries: their ids, their events, and the counting queue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = on_postgresql(session)

    async def write_group(
        self,
        deliveries: Sequence[tuple[DeliveryKey, str]],
        events: Sequence[GroupEvent],
        *,
        received_at: dt.datetime,
    ) -> tuple[set[DeliveryKey], set[tuple[str, str]]]:
        """Claim the deliveries, append the events of claimed ones, queue them for counting.

        Returns the delivery keys claimed now (others are replays) and the (district, event_id) inserted.
        On PostgreSQL this is one statement (data-modifying CTEs) whatever the group size.
        """
        if not self.postgres:
            return await self._write_group_stepwise(deliveries, events, received_at=received_at)
        ordered = sorted(set(deliveries))
        # The CTEs' row counts are unknown to the planner, which then joins the new ids back to their
        # events by nested loop: quadratic in the group size. A hash join is linear.
        await self.session.execute(text("SET LOCAL enable_nestloop = off"))
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
        inserted = await self._insert_events([rows[k] for k in sorted(rows)], received_at=received_at)
        per_district: dict[str, list[str]] = {}
        for district_id, event_id in sorted(inserted):
            per_district.setdefault(district_id, []).append(event_id)
        queue = text(_SQLITE_QUEUE).bindparams(bindparam("ids", expanding=True))
        for district_id, ids in per_district.items():
            for start in range(0, len(ids), _SQLITE_CHUNK):
                await self.session.execute(
                    queue, {"d": district_id, "ids": ids[start : start + _SQLITE_CHUNK]}
                )
        return claimed, inserted

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
