"""Rebuilding a district's aggregates (after a roster import) and ingesting into them never
interleave: a rebuild holds the district's aggregates lock exclusively, ingestion holds it shared."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from services.analytics.dashboards.aggregates import aggregates_lock
from shared.db import advisory_lock

EVENT = {"event_id": "lock-1", "type": "login", "occurred_at": "2026-03-02T08:00:00Z", "user_id": "s1"}


async def test_ingestion_waits_while_a_rebuild_holds_the_district(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], post_signed: Any, district: str
) -> None:
    db = analytics_app[0].state.runtime.db
    async with db.transaction() as rebuilding:
        await advisory_lock(rebuilding, aggregates_lock(district))
        ingest = asyncio.create_task(post_signed("events", EVENT))
        await asyncio.sleep(1.0)
        assert not ingest.done(), "ingestion went ahead while the district's aggregates were rebuilt"
    response = await asyncio.wait_for(ingest, timeout=15)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


async def test_a_rebuild_waits_for_ingestion_in_flight(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    db = analytics_app[0].state.runtime.db

    async def rebuild() -> None:
        from services.analytics.dashboards.aggregates import rebuild_counts

        async with db.transaction() as session:
            await rebuild_counts(session, district)

    async with db.transaction() as ingesting:
        await advisory_lock(ingesting, aggregates_lock(district), shared=True)
        task = asyncio.create_task(rebuild())
        await asyncio.sleep(1.0)
        assert not task.done(), "the rebuild went ahead while ingestion was in flight"
    await asyncio.wait_for(task, timeout=15)
