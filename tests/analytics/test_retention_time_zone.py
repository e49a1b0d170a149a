"""Retention cuts in the district's days: its today and its cutoff's midnight are in its time zone, as its
aggregates' days are. At 10 pm Pacific on June 30, 2026 a Pacific district with one school year is still
in 2025-26 (in UTC it is July 1: 2026-27 would have begun and January's usage would go), and an evening
of June 29, 2025 there is before its cutoff, Monday June 30, though it is June 30 in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI

from services.analytics.retention.service import apply_retention
from shared.db import Database
from tests.analytics.test_retention import append_at, kept
from tests.fixtures.auth import TokenFactory

JUNE_30_EVENING_PACIFIC = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)


async def test_retention_cuts_in_the_districts_time_zone(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> None:
    app, client = analytics_app
    db: Database = app.state.runtime.db
    defaults: Any = app.state.runtime.settings
    r = await client.put(
        "/api/analytics/settings",
        headers=auth("edtech"),
        json={"retention_school_years": 1, "time_zone": "America/Los_Angeles"},
    )
    assert r.status_code == 200, r.text
    utc = f"{district}-utc"
    r = await client.put(
        "/api/analytics/settings", headers=auth("edtech", district_id=utc), json={"retention_school_years": 1}
    )
    assert r.status_code == 200, r.text
    moments = [
        "2025-06-30T03:00:00+00:00",  # Sunday June 29, 8 pm Pacific
        "2025-06-30T12:00:00+00:00",  # Monday June 30, 5 am Pacific
        "2026-01-15T18:00:00+00:00",
    ]
    for d in (district, utc):
        await append_at(db, d, moments)

    run = await apply_retention(db, defaults, now=JUNE_30_EVENING_PACIFIC)  # what the job runs
    # Pacific: still 2025-26, kept from Monday 2025-06-30 (its midnight, 07:00 UTC); the daily rollup in
    # Pacific days
    assert await kept(db, district) == (["2025-06-30", "2026-01-15"], ["2025-06-30", "2026-01-15"])
    assert run.deleted[district] == 1
    # UTC: July 1, 2026-27 has begun: kept from Monday 2026-06-29, nothing of these
    assert await kept(db, utc) == ([], [])
    assert run.deleted[utc] == 3
