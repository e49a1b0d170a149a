"""SQL of retention: delete a district's old events, keep the monthly partitions of usage_event."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import UsageEvent, UsageEventKey
from shared.db import on_postgresql

PARTITION = re.compile(r"^usage_event_(\d{4})_(\d{2})$")


def month_after(month: dt.date) -> dt.date:
    """The first day of the next month."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class RetentionRepository:
    """Deletes what is past retention; creates and drops the monthly partitions (PostgreSQL)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = on_postgresql(session)

    async def districts_with_events_before(self, before: dt.datetime) -> list[str]:
        """Districts holding events that occurred before `before` (only old partitions are read)."""
        rows = await self.session.execute(
            select(UsageEvent.district_id).where(UsageEvent.occurred_at < before).distinct()
        )
        return sorted(d for (d,) in rows)

    async def delete_events(self, district_id: str, before: dt.datetime) -> int:
        """Delete a district's events (and their ids) that occurred before `before`; returns how many."""
        result: Any = await self.session.execute(
            delete(UsageEvent).where(UsageEvent.district_id == district_id, UsageEvent.occurred_at < before)
        )
        if self.postgres:
            await self.session.execute(
                delete(UsageEventKey).where(
                    UsageEventKey.district_id == district_id, UsageEventKey.occurred_at < before
                )
            )
        return int(result.rowcount or 0)

    async def partitions(self) -> dict[dt.date, str]:
        """The monthly partitions of usage_event: first day of the month -> table name."""
        rows = await self.session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'analytics.usage_event'::regclass"
            )
        )
        out: dict[dt.date, str] = {}
        for (name,) in rows:
            match = PARTITION.match(name)
            if match:
                out[dt.date(int(match[1]), int(match[2]), 1)] = name
        return out

    async def create_partitions(self, months: Iterable[dt.date]) -> list[dt.date]:
        """Create the monthly partitions missing among `months`, moving their rows out of the default one."""
        have = await self.partitions()
        made = []
        for month in sorted(set(months) - set(have)):
            name = f"usage_event_{month:%Y_%m}"  # from a date: never input
            bounds = {"a": dt.datetime.combine(month, dt.time(), dt.UTC)}
            bounds["b"] = dt.datetime.combine(month_after(month), dt.time(), dt.UTC)
            await self.session.execute(
                text("LOCK TABLE analytics.usage_event_default IN ACCESS EXCLUSIVE MODE")
            )
            await self.session.execute(
                text(
                    "CREATE TEMP TABLE moving ON COMMIT DROP AS SELECT * FROM analytics.usage_event_default "
                    "WHERE occurred_at >= :a AND occurred_at < :b"
                ),
                bounds,
            )
            await self.session.execute(
                text(
                    "DELETE FROM analytics.usage_event_default WHERE occurred_at >= :a AND occurred_at < :b"
                ),
                bounds,
            )
            lo, hi = bounds["a"].isoformat(), bounds["b"].isoformat()
            await self.session.execute(
                text(
                    f"CREATE TABLE analytics.{name} PARTITION OF analytics.usage_event "
                    f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
                )
            )
            await self.session.execute(text("INSERT INTO analytics.usage_event SELECT * FROM moving"))
            await self.session.execute(text("DROP TABLE moving"))
            made.append(month)
        return made

    async def drop_empty_partitions(self, *, before: dt.date) -> list[dt.date]:
        """Drop the monthly partitions that end on or before `before` and hold no row any more."""
        dropped = []
        for month, name in sorted((await self.partitions()).items()):
            if month_after(month) > before:
                continue
            empty = await self.session.scalar(
                text(f"SELECT NOT EXISTS (SELECT 1 FROM analytics.{name})")  # noqa: S608 (a partition name)
            )
            if empty:
                await self.session.execute(text(f"DROP TABLE analytics.{name}"))
                dropped.append(month)
        return dropped
