"""Retention: each district's usage older than its school years is deleted, events and aggregates
alike, and the monthly partitions of the raw events are kept ahead and dropped once emptied."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.config import Settings
from services.analytics.counting.service import count_all, rebuild
from services.analytics.ingest.repository import IngestRepository
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import Base, UsageDaily, UsageEvent
from services.analytics.retention.repository import RetentionRepository
from services.analytics.retention.service import apply_retention, retention_cutoff
from shared.db import Database, utcnow
from tests.analytics.test_counting_properties import snapshot
from tests.fixtures.auth import TokenFactory


def test_the_cutoff_is_the_monday_before_the_oldest_school_year_kept() -> None:
    # 2026-11-26 is in the school year that began on 2026-07-01
    today = dt.date(2026, 11, 26)
    assert retention_cutoff(today, school_years=1, start_month=7) == dt.date(2026, 6, 29)  # Wed 07-01
    assert retention_cutoff(today, school_years=2, start_month=7) == dt.date(2025, 6, 30)  # Tue 07-01
    # before the school year starts, the current one is still last year's
    assert retention_cutoff(dt.date(2026, 6, 30), school_years=1, start_month=7) == dt.date(2025, 6, 30)
    assert retention_cutoff(dt.date(2026, 8, 3), school_years=1, start_month=8) == dt.date(2026, 7, 27)


async def append_at(db: Database, district: str, moments: list[str]) -> None:
    """One login of `s1` at each moment (ISO 8601), appended and counted."""
    key = (uuid.uuid4(), f"msg-{uuid.uuid4().hex}")
    events = [
        (
            key,
            district,
            "events",
            Normalized(
                event_id=f"{district}-{at}",
                kind="login",
                occurred_at=dt.datetime.fromisoformat(at),
                user_id="s1",
                tool_id="tool-a",
            ),
        )
        for at in moments
    ]
    async with db.transaction() as session:
        await IngestRepository(session).write_group([(key, district)], events, received_at=utcnow())
    await count_all(db)


async def append(db: Database, district: str, days: list[str]) -> None:
    """One login of `s1` per day (at 10:00 UTC), appended and counted."""
    await append_at(db, district, [f"{day}T10:00:00+00:00" for day in days])


async def kept(db: Database, district: str) -> tuple[list[str], list[str]]:
    """(days of the stored events, days of the daily rollup) of a district."""
    async with db.transaction() as session:
        events = await session.scalars(
            select(UsageEvent.occurred_at).where(UsageEvent.district_id == district)
        )
        daily = await session.scalars(select(UsageDaily.day).where(UsageDaily.district_id == district))
        return sorted(e.date().isoformat() for e in events), sorted(d.isoformat() for d in daily)


async def test_each_district_keeps_its_school_years_and_old_partitions_go(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> None:
    app, client = analytics_app
    db: Database = app.state.runtime.db
    defaults: Any = app.state.runtime.settings
    short = f"{district}-short"
    r = await client.put(
        "/api/analytics/settings",
        headers=auth("edtech", district_id=short),
        json={"retention_school_years": 1},
    )
    assert r.status_code == 200, r.text
    days = ["2019-03-10", "2020-03-10", "2020-09-15", "2021-03-10"]
    for d in (district, short):
        await append(db, d, days)
    async with db.transaction() as session:  # a partition made after its rows arrived: they move in
        assert await RetentionRepository(session).create_partitions([dt.date(2020, 3, 1)]) == [
            dt.date(2020, 3, 1)
        ]
    async with db.transaction() as session:
        assert dt.date(2020, 3, 1) in await RetentionRepository(session).partitions()
    assert (await kept(db, district))[0] == days  # nothing lost in the move

    run = await apply_retention(db, defaults, today=dt.date(2021, 9, 1))
    # default two school years: from Mon 2020-06-29 on; one school year: from Mon 2021-06-28 on
    assert await kept(db, district) == (["2020-09-15", "2021-03-10"], ["2020-09-15", "2021-03-10"])
    assert await kept(db, short) == ([], [])
    assert (run.deleted[district], run.deleted[short]) == (2, 4)
    assert dt.date(2020, 3, 1) in run.partitions_dropped
    async with db.transaction() as session:
        partitions = await RetentionRepository(session).partitions()
        assert dt.date(2020, 3, 1) not in partitions
        assert {dt.date(2021, m, 1) for m in range(8, 13)} <= set(partitions)
        trimmed = await snapshot(session, district)
        await rebuild(session, district)
    async with db.transaction() as session:
        assert await snapshot(session, district) == trimmed
    assert (await apply_retention(db, defaults, today=dt.date(2021, 9, 1))).deleted == {}


async def test_retention_on_the_embedded_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}", "analytics")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await append(db, "d", ["2020-03-10", "2020-09-15", "2021-03-10"])
        run = await apply_retention(
            db, Settings(database_url="sqlite+aiosqlite://"), today=dt.date(2021, 9, 1)
        )
        assert run.deleted == {"d": 1}
        assert await kept(db, "d") == (["2020-09-15", "2021-03-10"], ["2020-09-15", "2021-03-10"])
    finally:
        await db.dispose()
