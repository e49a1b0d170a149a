"""Every aggregate equals a plain recount of the raw events, for any events (hypothesis).

Random deliveries (integrations with and without a tool, repeated event ids, late and out-of-order
events, days across week, month and semester boundaries) are appended through the ingestion
repository, counted by worker passes of random sizes, with roster changes between deliveries.
Then: incremental == a naive recount in plain Python (below, written without the SQL) == a
rebuild from the raw events; and after retention deletes what happened before a random cutoff,
the same holds for the events kept. On PostgreSQL and on SQLite (the embedded default).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.service import (
    count_pending,
    rebuild,
    regroup_due,
    request_regroup,
    trim,
    user_groups,
)
from services.analytics.ingest.repository import IngestRepository
from services.analytics.ingest.schemas import Normalized
from services.analytics.models import Base, UsageCount, UsageDaily, UsagePresence, UsageSeen
from services.analytics.retention.repository import RetentionRepository
from services.analytics.retention.service import local_midnight
from services.analytics.rosters.repository import RosterRepository
from shared.db import Database, utcnow

USERS = ("s1", "s2", "s3", "t1", "ghost")
KINDS = ("login", "feature_used", "assignment_started", "assignment_submitted", "time_in_tool")
FIRST_DAY = dt.date(2026, 1, 26)  # a Monday; 45 days reach into March


@dataclass(frozen=True)
class Sent:
    """One event as a sender posts it."""

    event_id: str
    tool: str  # '' = an integration without a tool that names none
    user: str
    kind: str
    day: dt.date
    hour: int
    feature: str | None
    duration: float | None

    def normalized(self) -> Normalized:
        """The event as ingestion stores it."""
        return Normalized(
            event_id=self.event_id,
            kind=self.kind,
            occurred_at=dt.datetime.combine(self.day, dt.time(self.hour), dt.UTC),
            user_id=self.user,
            tool_id=self.tool,
            feature=self.feature,
            duration_s=self.duration,
        )


events_st = st.builds(
    Sent,
    event_id=st.sampled_from([f"e{i}" for i in range(40)]),  # few ids: repeats happen
    tool=st.sampled_from(["", "tool-a", "tool-b"]),
    user=st.sampled_from(USERS),
    kind=st.sampled_from(KINDS),
    day=st.integers(0, 44).map(lambda n: FIRST_DAY + dt.timedelta(days=n)),
    hour=st.integers(0, 23),
    feature=st.sampled_from([None, "quiz", "chat"]),
    duration=st.sampled_from([None, 30.0, 12.5]),
)
attributes_st = st.lists(
    st.tuples(
        st.sampled_from(USERS[:4]),
        st.sampled_from(["grade", "subject", "school"]),
        st.sampled_from(["05", "06", "math"]),
    ),
    max_size=8,
)
plan_st = st.lists(
    st.tuples(st.lists(events_st, min_size=1, max_size=12), st.none() | attributes_st),
    min_size=1,
    max_size=5,
)
"""Deliveries, each followed (or not) by a roster change: the users' new attributes."""
sizes_st = st.lists(st.integers(1, 30), min_size=1, max_size=4)
"""How many pending events each counting pass takes."""
cutoff_st = st.integers(0, 7).map(lambda weeks: FIRST_DAY + dt.timedelta(weeks=weeks))
"""A retention cutoff (a Monday), sometimes inside a month (Feb 2, Mar 2 straddle theirs)."""


def expected(
    stored: Sequence[Sent], attributes: Sequence[tuple[str, str, str]]
) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row, recounted naively from the stored events and the final roster."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for user, _, group in user_groups(attributes, {u for u, _, _ in attributes}):
        groups.setdefault(user, []).append(group)
    default = [("", "grade", "unassigned"), ("", "subject", "unassigned"), ("", "all", "")]
    daily: dict[tuple[Any, ...], list[float]] = {}
    presence: dict[tuple[Any, ...], int] = {}
    seen: set[tuple[Any, ...]] = set()
    events: dict[tuple[Any, ...], int] = {}
    users: dict[tuple[Any, ...], set[str]] = {}
    for e in stored:
        feature = e.feature or ""
        week, month = e.day - dt.timedelta(days=e.day.weekday()), e.day.replace(day=1)
        row = daily.setdefault(("d", e.day, e.tool, e.user, e.kind, feature, week, month), [0, 0.0])
        row[0] += 1
        row[1] += e.duration or 0.0
        key = ("d", month, e.tool, e.user)
        presence[key] = presence.get(key, 0) | 1 << (e.day.day - 1)
        for period, start in (("week", week), ("month", month)):
            for tool in {"", e.tool}:
                if e.kind in ("login", "feature_used"):
                    f = feature if e.kind == "feature_used" else ""
                    seen.add(("d", period, start, tool, e.kind, f, e.user))
                for school, dim, value in groups.get(e.user, default):
                    counters = [(dim, value)]
                    if dim == "all" and e.kind == "feature_used":
                        counters.append(("feature", feature))
                    for d, v in counters:
                        k = ("d", period, tool, school, d, e.kind, start, v)
                        events[k] = events.get(k, 0) + 1
                        if e.kind == "login" or d == "feature":
                            users.setdefault(k, set()).add(e.user)
    return {
        "usage_count": sorted((*k, n, len(users.get(k, ()))) for k, n in events.items()),
        "usage_daily": sorted((*k[:6], k[6], k[7], int(n), round(s, 6)) for k, (n, s) in daily.items()),
        "usage_presence": sorted((*k, m) for k, m in presence.items()),
        "usage_seen": sorted(seen),
    }


async def snapshot(session: AsyncSession, district: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row of a district in the recount's shape (district renamed `d`)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in (UsageCount, UsageDaily, UsagePresence, UsageSeen):
        table: Any = model.__table__
        rows = (await session.execute(select(table).where(table.c.district_id == district))).all()
        out[table.name] = sorted(
            ("d", *(round(v, 6) if isinstance(v, float) else v for v in row[1:])) for row in rows
        )
    return out


async def play(
    db: Database, plan: Sequence[tuple[list[Sent], list[Any] | None]], pass_sizes: list[int], cutoff: dt.date
) -> None:
    """Append the deliveries, count in passes of the given sizes, change the roster; compare."""
    district = f"prop-{uuid.uuid4().hex[:10]}"
    integration = uuid.uuid4()
    stored: dict[str, Sent] = {}
    attributes: list[tuple[str, str, str]] = []
    sizes = itertools.cycle(pass_sizes)
    for n, (deliveries, roster) in enumerate(plan):
        key = (integration, f"msg-{n}")
        normalized = [(key, district, "events", e.normalized()) for e in deliveries]
        async with db.transaction() as session:
            await IngestRepository(session).write_group([(key, district)], normalized, received_at=utcnow())
        for e in deliveries:
            stored.setdefault(e.event_id, e)  # an id seen before is not stored twice
        await count_pending(db, max_events=next(sizes))  # counting lags behind, by random amounts
        if roster is not None:
            attributes = list(roster)
            async with db.transaction() as session:
                users = {u for u, _, _ in attributes}
                await RosterRepository(session).replace_groups(district, user_groups(attributes, users))
                await request_regroup(session, district)
            if next(sizes) % 2:
                await regroup_due(db)  # sometimes regrouped before the next events, sometimes after
    while (await count_pending(db, max_events=next(sizes))).events:
        pass
    await regroup_due(db)
    want = expected(list(stored.values()), attributes)
    async with db.transaction() as session:
        assert await snapshot(session, district) == want, "incremental != recount"
    async with db.transaction() as session:
        await rebuild(session, district)
    async with db.transaction() as session:
        assert await snapshot(session, district) == want, "rebuild != recount"
    # retention: what happened before the cutoff leaves the events and every layer
    async with db.transaction() as session:
        await RetentionRepository(session).delete_events(district, local_midnight(cutoff, "UTC"))
        await trim(session, district, cutoff)
    kept = expected([e for e in stored.values() if e.day >= cutoff], attributes)
    async with db.transaction() as session:
        assert await snapshot(session, district) == kept, "trimmed != recount of the events kept"
        await rebuild(session, district)
    async with db.transaction() as session:
        assert await snapshot(session, district) == kept, "rebuild after retention != recount"


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(plan=plan_st, pass_sizes=sizes_st, cutoff=cutoff_st)
def test_postgresql_aggregates_equal_a_recount(
    database_url: str,
    plan: list[tuple[list[Sent], list[Any] | None]],
    pass_sizes: list[int],
    cutoff: dt.date,
) -> None:
    async def run() -> None:
        db = Database(database_url, "analytics", pool_size=2)
        try:
            await play(db, plan, pass_sizes, cutoff)
        finally:
            await db.dispose()

    asyncio.run(run())


@settings(PROPERTY, max_examples=25)
@given(plan=plan_st, pass_sizes=sizes_st, cutoff=cutoff_st)
def test_sqlite_aggregates_equal_a_recount(
    plan: list[tuple[list[Sent], list[Any] | None]], pass_sizes: list[int], cutoff: dt.date
) -> None:
    async def run(path: Path) -> None:
        db = Database(f"sqlite+aiosqlite:///{path}", "analytics")
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            await play(db, plan, pass_sizes, cutoff)
        finally:
            await db.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "analytics.db"))
