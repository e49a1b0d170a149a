"""Dashboard figures equal a plain recount of the raw events, for any events and any range (hypothesis).

The dashboards split a range into whole periods (read from the counters) and partial ones at its
edges (read from the per-user rollup), and count distinct users from presence masks: these tests
check the figures themselves, for random events, rosters, date ranges, tools and schools, against a
recount written in plain Python.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.analytics.counting.service import count_all, regroup_due, request_regroup, user_groups
from services.analytics.dashboards import service
from services.analytics.dashboards.repository import DashboardRepository, Scope
from services.analytics.ingest.repository import IngestRepository
from services.analytics.rosters.repository import RosterRepository
from shared.db import Database, utcnow
from tests.analytics.test_counting_properties import FIRST_DAY, USERS, Sent, attributes_st, events_st

ranges_st = st.tuples(st.integers(0, 44), st.integers(0, 60)).map(
    lambda ab: (FIRST_DAY + dt.timedelta(days=ab[0]), FIRST_DAY + dt.timedelta(days=ab[0] + ab[1]))
)
filters_st = st.tuples(st.sampled_from([None, "tool-a"]), st.sampled_from([None, "05", "math"]))


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def in_scope(e: Sent, start: dt.date, end: dt.date, tool: str | None, school_users: set[str] | None) -> bool:
    return (
        start <= e.day <= end
        and (tool is None or e.tool == tool)
        and (school_users is None or e.user in school_users)
    )


def expected_logins(
    events: Sequence[Sent],
    attributes: Sequence[tuple[str, str, str]],
    scope: tuple[dt.date, dt.date, str | None, str | None],
    *,
    period: str,
    group: str,
) -> list[tuple[dt.date, str, int, int]]:
    """(period start, group, logins, distinct users) recounted from the events."""
    start, end, tool, school = scope
    values: dict[str, set[str]] = {}
    for user, kind, value in attributes:
        if kind == group:
            values.setdefault(user, set()).add(value)
    school_users = None if school is None else {u for u, k, v in attributes if k == "school" and v == school}
    logins: dict[tuple[dt.date, str], int] = {}
    users: dict[tuple[dt.date, str], set[str]] = {}
    for e in events:
        if e.kind != "login" or not in_scope(e, start, end, tool, school_users):
            continue
        p = week_of(e.day) if period == "week" else e.day.replace(day=1)
        for g in values.get(e.user) or {"unassigned"}:
            logins[(p, g)] = logins.get((p, g), 0) + 1
            users.setdefault((p, g), set()).add(e.user)
    return sorted((p, g, n, len(users[(p, g)])) for (p, g), n in logins.items())


def expected_features(
    events: Sequence[Sent],
    attributes: Sequence[tuple[str, str, str]],
    scope: tuple[dt.date, dt.date, str | None, str | None],
) -> dict[str, dict[dt.date, tuple[int, int]]]:
    """feature -> week -> (events, distinct users), weeks with use only."""
    start, end, tool, school = scope
    school_users = None if school is None else {u for u, k, v in attributes if k == "school" and v == school}
    events_by: dict[tuple[str, dt.date], int] = {}
    users_by: dict[tuple[str, dt.date], set[str]] = {}
    for e in events:
        if e.kind != "feature_used" or not in_scope(e, start, end, tool, school_users):
            continue
        key = (e.feature or "", week_of(e.day))
        events_by[key] = events_by.get(key, 0) + 1
        users_by.setdefault(key, set()).add(e.user)
    out: dict[str, dict[dt.date, tuple[int, int]]] = {}
    for (feature, week), n in events_by.items():
        out.setdefault(feature, {})[week] = (n, len(users_by[(feature, week)]))
    return out


def expected_active(
    events: Sequence[Sent],
    attributes: Sequence[tuple[str, str, str]],
    scope: tuple[dt.date, dt.date, str | None, str | None],
) -> dict[str, int]:
    """Distinct users per tool (tools named only) with any event in the scope."""
    start, end, tool, school = scope
    school_users = None if school is None else {u for u, k, v in attributes if k == "school" and v == school}
    users: dict[str, set[str]] = {}
    for e in events:
        if e.tool and in_scope(e, start, end, tool, school_users):
            users.setdefault(e.tool, set()).add(e.user)
    return {t: len(u) for t, u in users.items()}


async def load(
    db: Database, events: Sequence[Sent], attributes: Sequence[tuple[str, str, str]]
) -> tuple[str, list[Sent]]:
    """A district with these events (ids made unique) and roster; everything counted. Returns the events."""
    district = f"dash-{uuid.uuid4().hex[:10]}"
    stored = [
        Sent(f"{n}", e.tool, e.user, e.kind, e.day, e.hour, e.feature, e.duration)
        for n, e in enumerate(events)
    ]
    key = (uuid.uuid4(), "msg")
    rows = [(key, district, "events", e.normalized()) for e in stored]
    async with db.transaction() as session:
        roster = RosterRepository(session)
        await roster.replace_attributes(district, sorted(set(attributes)))
        await roster.replace_groups(district, user_groups(attributes, set(USERS[:4])))
        await request_regroup(session, district)
        await IngestRepository(session).write_group([(key, district)], rows, received_at=utcnow())
    await count_all(db)
    await regroup_due(db)
    return district, stored


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(events_st, min_size=10, max_size=60),
    attributes=attributes_st,
    span=ranges_st,
    filters=filters_st,
    period=st.sampled_from(["week", "month"]),
    group=st.sampled_from(["grade", "subject"]),
)
def test_dashboard_figures_equal_a_recount(
    database_url: str,
    events: list[Sent],
    attributes: list[tuple[str, str, str]],
    span: tuple[dt.date, dt.date],
    filters: tuple[str | None, str | None],
    period: str,
    group: str,
) -> None:
    async def run() -> None:
        db = Database(database_url, "analytics", pool_size=2)
        try:
            district, stored = await load(db, events, attributes)
            (start, end), (tool, school) = span, filters
            scope = Scope(district_id=district, start=start, end=end, tool_id=tool, school_id=school)
            naive: Any = (start, end, tool, school)
            async with db.transaction() as session:
                report = await service.logins(session, scope, period=period, group=group)
                got = [(r.period_start, r.group, r.logins, r.active_users) for r in report.rows]
                assert got == expected_logins(stored, attributes, naive, period=period, group=group)
                heat = await service.features(session, scope)
                cells = {
                    f.feature: {c.week: (c.events, c.distinct_users) for c in f.cells if c.events}
                    for f in heat.features
                }
                assert cells == expected_features(stored, attributes, naive)
                active = await DashboardRepository(session).active_counts(scope)
                assert active == expected_active(stored, attributes, naive)
        finally:
            await db.dispose()

    asyncio.run(run())
