"""Counting, rebuilds and regroups share a district safely, and ingestion never waits for them.

A rebuild or regroup holds the district's aggregates lock exclusively; counting holds it shared and
leaves a held district's events queued. Appending takes no such lock: a roster import's regroup
cannot stall ingestion.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from services.analytics.counting.repository import CountingRepository, aggregates_lock
from services.analytics.counting.service import count_all, count_pending, regroup, trim
from services.analytics.models import UsageDaily, UsagePending
from shared.db import advisory_lock

EVENT = {"event_id": "lock-1", "type": "login", "occurred_at": "2026-03-02T08:00:00Z", "user_id": "s1"}


async def counted(db: Any, district: str) -> tuple[int, int]:
    """(events in the daily rollup, events still queued) of a district."""
    async with db.transaction() as session:
        daily = await session.scalar(
            select(func.sum(UsageDaily.events)).where(UsageDaily.district_id == district)
        )
        queued = await session.scalar(
            select(func.count()).select_from(UsagePending).where(UsagePending.district_id == district)
        )
    return int(daily or 0), int(queued or 0)


async def test_ingestion_and_counting_go_on_while_a_regroup_holds_the_district(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], post_signed: Any, district: str
) -> None:
    db = analytics_app[0].state.runtime.db
    async with db.transaction() as regrouping:
        await advisory_lock(regrouping, aggregates_lock(district))
        response = await asyncio.wait_for(post_signed("events", EVENT), timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        await count_all(db)  # the held district's events stay queued, other districts' are counted
        assert await counted(db, district) == (0, 1)
    assert await count_all(db) >= 1
    assert await counted(db, district) == (1, 0)


async def test_a_regroup_waits_for_counting_in_flight(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], district: str
) -> None:
    db = analytics_app[0].state.runtime.db

    async def regrouping() -> None:
        async with db.transaction() as session:
            await regroup(session, district)

    async with db.transaction() as counting:
        await advisory_lock(counting, aggregates_lock(district), shared=True)
        task = asyncio.create_task(regrouping())
        await asyncio.sleep(1.0)
        assert not task.done(), "the regroup went ahead while counting was in flight"
    await asyncio.wait_for(task, timeout=15)


class Killed(Exception):
    """Stands for the process dying at this point of a counting pass."""


@pytest.mark.parametrize("step", ["take_pending", "add_daily", "add_presence", "add_seen", "add_counts"])
async def test_a_pass_stopped_after_any_step_loses_nothing_and_counts_nothing_twice(
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    post_signed: Any,
    district: str,
    step: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = analytics_app[0].state.runtime.db
    for n in range(3):
        assert (await post_signed("events", {**EVENT, "event_id": f"kill-{n}"})).status_code == 200
    real = getattr(CountingRepository, step)

    async def then_die(self: CountingRepository, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)
        raise Killed(step)

    monkeypatch.setattr(CountingRepository, step, then_die)
    with pytest.raises(Killed):
        while True:  # passes that do not reach this district's shard end without the step
            await count_pending(db)
    monkeypatch.undo()
    assert await counted(db, district) == (0, 3)
    await count_all(db)
    assert await counted(db, district) == (3, 0)


async def test_dashboards_say_up_to_when_they_are_complete(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], post_signed: Any, auth: Any, district: str
) -> None:
    app, client = analytics_app
    params = {"from": "2026-03-02", "to": "2026-03-08"}
    before = dt.datetime.now(dt.UTC)
    assert (await post_signed("events", {**EVENT, "event_id": "fresh-1"})).status_code == 200
    r = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    fresh = r.json()["freshness"]
    assert fresh["pending_events"] == 1  # appended, not counted yet: the figures say so
    assert before <= dt.datetime.fromisoformat(fresh["complete_through"]) <= dt.datetime.now(dt.UTC)
    assert r.json()["rows"] == []
    await count_all(app.state.runtime.db)
    asked = dt.datetime.now(dt.UTC)
    r = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    fresh = r.json()["freshness"]
    assert (fresh["pending_events"], fresh["groups_current"]) == (0, True)
    assert dt.datetime.fromisoformat(fresh["complete_through"]) >= asked
    assert [row["logins"] for row in r.json()["rows"]] == [1]
    metrics = (await client.get("/metrics")).text
    assert "analytics_counting_lag_seconds_count" in metrics
    assert "analytics_counted_events_total" in metrics


async def test_events_retention_removed_from_the_queue_meanwhile_are_not_counted(
    analytics_app: tuple[FastAPI, httpx.AsyncClient],
    post_signed: Any,
    district: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = analytics_app[0].state.runtime.db
    assert (await post_signed("events", {**EVENT, "event_id": "late-1"})).status_code == 200  # on 03-02
    real = CountingRepository.skip_busy_districts
    trimmed: list[bool] = []

    async def retention_runs_meanwhile(self: CountingRepository) -> None:
        loaded = await self.session.scalar(
            text("SELECT count(*) FROM agg_event WHERE district_id = :d"), {"d": district}
        )
        if loaded and not trimmed:  # the event is in this batch; retention now drops its day
            async with db.transaction() as other:
                await trim(other, district, dt.date(2026, 3, 9))
            trimmed.append(True)
        await real(self)

    monkeypatch.setattr(CountingRepository, "skip_busy_districts", retention_runs_meanwhile)
    await count_all(db)
    assert trimmed
    assert await counted(db, district) == (0, 0)  # neither counted nor left queued
