"""A new time zone re-dates the events not yet counted: they were given their day when they were
appended, so a recount that runs while they wait in the queue (it leaves queued events to the workers)
would otherwise count them later in their old day. Through the API, with the workers' own passes."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.analytics.config import Settings
from services.analytics.counting.service import count_all, regroup_due
from services.analytics.district.schemas import DistrictSettingsUpdate
from services.analytics.district.service import update_settings
from services.analytics.ingest.repository import IngestRepository
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import Base, UsagePending
from shared.db import Database, utcnow
from tests.analytics.dataset import send_events
from tests.fixtures.auth import TokenFactory

HALLOWEEN_EVENING = "2026-10-31T21:00:00-07:00"  # 2026-11-01 04:00 UTC


async def test_a_new_time_zone_re_dates_the_events_still_queued(
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    integration: dict[str, Any],
    auth: TokenFactory,
    district: str,
) -> None:
    app, analytics = analytics_app
    db = app.state.runtime.db
    edtech = auth("edtech")
    login = {
        "event_id": "halloween-login",
        "type": "login",
        "occurred_at": HALLOWEEN_EVENING,
        "user_id": "t1",
        "tool_id": integration["tool_id"],
    }
    await send_events(analytics, integration, [login])

    async def queued_days() -> list[str]:
        async with db.transaction() as session:
            days = await session.scalars(select(UsagePending.day).where(UsagePending.district_id == district))
            return [d.isoformat() for d in days]

    assert await queued_days() == ["2026-11-01"]  # appended while the district was on UTC
    r = await analytics.put(
        "/api/analytics/settings", json={"time_zone": "America/Los_Angeles"}, headers=edtech
    )
    assert r.status_code == 200, r.text
    assert await queued_days() == ["2026-10-31"]  # cut again in the district's new zone

    await regroup_due(db)  # the recount the new zone asked for runs first: it leaves the queued login...
    await count_all(db)  # ...to the workers, which count it in its new day
    r = await analytics.get(
        "/api/analytics/dashboards/logins",
        params={"from": "2026-10-01", "to": "2026-11-30", "period": "month"},
        headers=edtech,
    )
    assert r.status_code == 200, r.text
    months: dict[str, int] = {}
    for row in r.json()["rows"]:
        months[row["period_start"]] = months.get(row["period_start"], 0) + row["logins"]
    assert months == {"2026-10-01": 1}


async def test_re_dating_on_the_embedded_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}", "analytics")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        key = (uuid.uuid4(), "msg-1")
        login = Normalized(
            event_id="halloween-login",
            kind="login",
            occurred_at=dt.datetime.fromisoformat(HALLOWEEN_EVENING),
            user_id="t1",
            tool_id="tool-a",
        )
        async with db.transaction() as session:
            await IngestRepository(session).write_group(
                [(key, "d")], [(key, "d", "events", login)], received_at=utcnow()
            )
        async with db.transaction() as session:
            assert [d.isoformat() for d in await session.scalars(select(UsagePending.day))] == ["2026-11-01"]
            await update_settings(
                session,
                district_id="d",
                data=DistrictSettingsUpdate(time_zone="America/Los_Angeles"),
                defaults=Settings(database_url="sqlite+aiosqlite://"),
            )
        async with db.transaction() as session:
            assert [d.isoformat() for d in await session.scalars(select(UsagePending.day))] == ["2026-10-31"]
    finally:
        await db.dispose()
