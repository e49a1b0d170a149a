"""The dashboard aggregates: counters of whole periods, presence masks, and their maintenance.

The counting workers derive them after the append; `counting.service.rebuild` recounts them from the
raw events, and a roster import has them regrouped in the background. Figures are checked by hand
on the crafted data set (the property tests in test_counting_properties.py check random ones).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.service import count_all, rebuild, user_groups
from services.analytics.dashboards import service
from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.ingest.repository import IngestRepository
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import (
    Base,
    RosterUserGroup,
    UsageCount,
    UsageDaily,
    UsagePresence,
    UsageSeen,
)
from shared.db import Database, utcnow
from tests.analytics.dataset import Dataset, build, ev, post_events, settle
from tests.analytics.roster_data import FILES, upload
from tests.fixtures.auth import TokenFactory

AGGREGATES = (UsageDaily, UsagePresence, UsageSeen, UsageCount)


@pytest.fixture
async def data(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> Dataset:
    """The crafted data set in this test's district."""
    app, client = analytics_app
    return await build(client, app.state.runtime, auth, district)


async def snapshot(session: AsyncSession, district: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row of a district, sorted (durations rounded)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in AGGREGATES:
        table: Any = model.__table__
        rows = (await session.execute(select(table).where(table.c.district_id == district))).all()
        out[table.name] = sorted(
            tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows
        )
    return out


def login_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["period_start"], r["group"], r["logins"], r["active_users"]) for r in report["rows"]]


async def test_whole_weeks_read_the_counters(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    params = {"from": "2026-03-02", "to": "2026-03-15", "period": "week", "group_by": "grade"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert login_rows(r.json()) == [
        ("2026-03-02", "05", 4, 3),
        ("2026-03-02", "06", 3, 3),
        ("2026-03-02", "unassigned", 1, 1),
        ("2026-03-09", "05", 1, 1),
    ]
    # school sch-1 and tool A: s1 (2 logins), s2, t1 in the first week; s1 in the second
    only = {**params, "school_id": "sch-1", "tool_id": data.tool_a, "group_by": "subject"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=only, headers=auth("admin"))
    assert login_rows(r.json()) == [("2026-03-02", "math", 4, 3), ("2026-03-09", "math", 1, 1)]


async def test_edges_and_whole_periods_combine(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    # Tue 03-03 .. Tue 03-17: edge 03-03..03-08 (s1, t1, s3, s4, ghost + t2 on B), whole week 03-09
    # (s1, counters), edge 03-16..03-17 (nothing)
    params = {"from": "2026-03-03", "to": "2026-03-17", "period": "week", "group_by": "grade"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert login_rows(r.json()) == [
        ("2026-03-02", "05", 2, 2),
        ("2026-03-02", "06", 3, 3),
        ("2026-03-02", "unassigned", 1, 1),
        ("2026-03-09", "05", 1, 1),
    ]
    # Feb 10 .. Mar 31 by month: February is an edge (t2 on tool A), March whole (counters)
    months = {"from": "2026-02-10", "to": "2026-03-31", "period": "month", "group_by": "subject"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=months, headers=auth("admin"))
    assert login_rows(r.json()) == [
        ("2026-02-01", "science", 1, 1),
        ("2026-03-01", "math", 5, 3),
        ("2026-03-01", "science", 3, 3),
        ("2026-03-01", "unassigned", 1, 1),
    ]
    # submissions over whole weeks only (counters): March 2-15 holds all of them
    weeks = {"from": "2026-03-02", "to": "2026-03-15", "school_id": "sch-1"}
    r = await analytics.get("/api/analytics/dashboards/submissions", params=weeks, headers=auth("admin"))
    body = r.json()
    assert (body["overall"]["started"], body["overall"]["submitted"]) == (4, 3)
    assert [(x["subject"], x["started"], x["submitted"]) for x in body["by_subject"]] == [("math", 4, 3)]


async def test_active_seats_over_any_range_from_presence(
    analytics: httpx.AsyncClient, auth: TokenFactory, data: Dataset
) -> None:
    # tool A on 03-04 .. 03-10: s1 (03-10), s2 (03-04), t1 (03-04, 03-10), s3 (03-04), s4 and
    # ghost (03-05) -> 6; on 03-11 alone: s1 -> 1; Feb 10 .. Mar 2: t2, s1, s2 -> 3
    for start, end, seats in (("2026-03-04", "2026-03-10", 6), ("2026-03-11", "2026-03-11", 1)):
        r = await analytics.get(
            "/api/analytics/dashboards/licenses",
            params={"from": start, "to": end, "tool_id": data.tool_a},
            headers=auth("admin"),
        )
        assert r.json()["licenses"][0]["seats_active"] == seats, (start, end)
    r = await analytics.get(
        "/api/analytics/dashboards/licenses",
        params={"from": "2026-02-10", "to": "2026-03-02", "tool_id": data.tool_a},
        headers=auth("admin"),
    )
    assert r.json()["licenses"][0]["seats_active"] == 3
    # teachers of tool A from 03-05: t1 (03-10) active; adopted up to then: t1 and t2 (February)
    r = await analytics.get(
        "/api/analytics/dashboards/teachers",
        params={"from": "2026-03-05", "to": "2026-03-31", "tool_id": data.tool_a},
        headers=auth("admin"),
    )
    row = r.json()["tools"][0]
    assert (row["active_teachers"], row["adopted_teachers"]) == (1, 2)


async def test_roster_import_regroups_the_counters(
    analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory, district: str
) -> None:
    app, client = analytics_app
    tool = str(uuid.uuid4())
    r = await client.post(
        "/api/analytics/integrations", headers=auth("edtech"), json={"name": "LMS", "tool_id": tool}
    )
    integration = r.json()
    await post_events(
        client,
        integration,
        [ev("s1", "login", "2026-03-02"), ev("s4", "login", "2026-03-03"), ev("s4", "login", "2026-03-04")],
        app.state.runtime,
    )
    params = {"from": "2026-03-02", "to": "2026-03-08", "group_by": "grade"}
    before = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert login_rows(before.json()) == [("2026-03-02", "unassigned", 3, 2)]
    assert before.json()["freshness"]["groups_current"] is True
    assert (await upload(client, auth("edtech"))).status_code == 200
    stale = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert stale.json()["freshness"]["groups_current"] is False  # the import answered; regroup to come
    assert login_rows(stale.json()) == [("2026-03-02", "unassigned", 3, 2)]
    await settle(app.state.runtime)
    after = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert after.json()["freshness"]["groups_current"] is True
    assert login_rows(after.json()) == [("2026-03-02", "05", 1, 1), ("2026-03-02", "06", 2, 1)]
    users = FILES["users.csv"].replace("s4,,S,Four,,,,,,,,", "s4,,S,Four,,,,,,,07,")
    assert (await upload(client, auth("edtech"), {**FILES, "users.csv": users})).status_code == 200
    await settle(app.state.runtime)
    moved = await client.get("/api/analytics/dashboards/logins", params=params, headers=auth("admin"))
    assert login_rows(moved.json()) == [("2026-03-02", "05", 1, 1), ("2026-03-02", "07", 2, 1)]
    async with app.state.runtime.db.transaction() as session:
        incremental = await snapshot(session, district)
        await rebuild(session, district)
        assert await snapshot(session, district) == incremental


def normalized(
    user: str, kind: str, when: str, *, tool: str = "tool-a", feature: str | None = None
) -> Normalized:
    """An ingested event at 10:00 UTC on `when`."""
    return Normalized(
        event_id=uuid.uuid4().hex,
        kind=kind,
        occurred_at=dt.datetime.fromisoformat(f"{when}T10:00:00+00:00"),
        user_id=user,
        tool_id=tool,
        feature=feature,
    )


async def test_sqlite_incremental_equals_recount_and_figures(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}", "analytics")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    groups = user_groups(
        [("s1", "grade", "05"), ("s1", "school", "sch-1"), ("s2", "grade", "06")], ["s1", "s2"]
    )
    events = [
        normalized("s1", "login", "2026-03-02"),
        normalized("s1", "login", "2026-03-03", tool="tool-b"),
        normalized("s2", "login", "2026-03-04"),
        normalized("ghost", "login", "2026-03-10"),
        normalized("s1", "feature_used", "2026-03-10", feature="quiz"),
        normalized("s2", "feature_used", "2026-03-31", feature="quiz"),
    ]
    integration = uuid.uuid4()
    try:
        async with db.transaction() as session:
            session.add_all(
                RosterUserGroup(district_id="d", user_id=u, group_set=k, school_id=s, dim=dim, value=v)
                for u, k, (s, dim, v) in groups
            )
        for i, chunk in enumerate((events[:3], events[3:], events[:2])):  # the last one is a duplicate
            async with db.transaction() as session:
                key = (integration, f"msg-{i}")
                await IngestRepository(session).write_group(
                    [(key, "d")], [(key, "d", "platform", e) for e in chunk], received_at=utcnow()
                )
        assert await count_all(db) == len(events)
        async with db.transaction() as session:
            incremental = await snapshot(session, "d")
            await rebuild(session, "d")
            assert await snapshot(session, "d") == incremental
            scope = Scope(district_id="d", start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 15))
            report = await service.logins(session, scope, period="week", group="grade")
            assert [(r.period_start.isoformat(), r.group, r.logins, r.active_users) for r in report.rows] == [
                ("2026-03-02", "05", 2, 1),
                ("2026-03-02", "06", 1, 1),
                ("2026-03-09", "unassigned", 1, 1),
            ]
            month = Scope(district_id="d", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
            assert await DashboardRepository(session).active_counts(month) == {"tool-a": 3, "tool-b": 1}
            heat = await service.features(session, month)
            assert [(c.week.isoformat(), c.events) for c in heat.features[0].cells if c.events] == [
                ("2026-03-09", 1),
                ("2026-03-30", 1),
            ]
    finally:
        await db.engine.dispose()
