"""The pre-aggregated dashboard tables: what ingestion adds to them, and rebuilding them set-based.

Layers, each derived from the one before: raw `usage_event` -> the per-user rollup `usage_daily`
-> `usage_presence` (a user's active days per tool and month, as a bit mask)
and `usage_seen` (a user first seen in a week/month for a tool or any tool, for logins and each
feature) -> `usage_count` (events and distinct users per week/month, tool or all, school or all,
grade / subject / all / feature). Ingestion maintains every layer incrementally
(`ingest/repository.py`); `rebuild_aggregates` recomputes them from the raw events (bench seeding,
repairs) and `rebuild_counts` recomputes the counters after a roster import changed the groups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import RosterUserGroup, UsageCount, UsagePresence, UsageSeen
from shared.db import advisory_lock

UNASSIGNED = "unassigned"
DEFAULT_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("", "grade", UNASSIGNED),
    ("", "subject", UNASSIGNED),
    ("", "all", ""),
)
"""(school, dim, value) groups of a user the roster does not describe."""

SeenKey = tuple[str, str, dt.date, str, str, str, str]
"""(district, period, period_start, tool ('' = any), kind, feature, user) of a usage_seen row."""
CountKey = tuple[str, str, str, str, str, str, dt.date, str]
"""(district, period, tool, school, dim, kind, period_start, value) of a usage_count row."""
Group = tuple[str, str, str]
"""(school ('' = all), dim, value)."""


def user_groups(
    attributes: Iterable[tuple[str, str, str]], users: Iterable[str]
) -> list[tuple[str, str, Group]]:
    """(user, group set key, group) rows from (user, kind, value) attributes: schools x grade/subject/all."""
    per: dict[str, dict[str, set[str]]] = {u: {} for u in users}
    for user, kind, value in attributes:
        per.setdefault(user, {}).setdefault(kind, set()).add(value)
    out: list[tuple[str, str, Group]] = []
    for user, attrs in sorted(per.items()):
        mine: list[Group] = []
        for school in ["", *sorted(attrs.get("school", ()))]:
            for dim in ("grade", "subject"):
                mine.extend((school, dim, v) for v in sorted(attrs.get(dim) or {UNASSIGNED}))
            mine.append((school, "all", ""))
        key = hashlib.sha1("\n".join("\t".join(g) for g in mine).encode()).hexdigest()  # noqa: S324
        out.extend((user, key, g) for g in mine)
    return out


def periods(day: dt.date) -> tuple[tuple[str, dt.date], tuple[str, dt.date]]:
    """The week (Monday) and month (first day) a day belongs to."""
    return ("week", day - dt.timedelta(days=day.weekday())), ("month", day.replace(day=1))


def seen_feature(kind: str, feature: str) -> str | None:
    """The `usage_seen.feature` of an event: '' for logins, the feature for feature use, else None."""
    if kind == "login":
        return ""
    if kind == "feature_used":
        return feature
    return None


def count_deltas(
    events: Sequence[tuple[str, dt.date, str, str, str, str]],
    new_seen: Iterable[SeenKey],
    groups: Mapping[tuple[str, str], Sequence[Group]],
) -> dict[CountKey, tuple[int, int]]:
    """(events, new distinct users) to add per counter, from inserted events and newly seen rows.

    `events` are (district, day, tool, user, kind, feature); `groups` maps (district, user) to its
    groups (DEFAULT_GROUPS when absent). The SQL of ingestion and of `rebuild_counts` does the same.
    """
    out: dict[CountKey, tuple[int, int]] = {}

    def add(key: CountKey, n_events: int, n_users: int) -> None:
        old = out.get(key, (0, 0))
        out[key] = (old[0] + n_events, old[1] + n_users)

    for district, day, tool, user, kind, feature in events:
        mine = groups.get((district, user), DEFAULT_GROUPS)
        for period, start in periods(day):
            for t in (tool, ""):
                for school, dim, value in mine:
                    add((district, period, t, school, dim, kind, start, value), 1, 0)
                    if dim == "all" and kind == "feature_used":
                        add((district, period, t, school, "feature", kind, start, feature), 1, 0)
    for district, period, start, t, kind, feature, user in new_seen:
        for school, dim, value in groups.get((district, user), DEFAULT_GROUPS):
            if kind == "login":
                add((district, period, t, school, dim, kind, start, value), 0, 1)
            elif dim == "all":
                add((district, period, t, school, "feature", kind, start, feature), 0, 1)
    return out


EventKey = tuple[str, dt.date, str, str, str, str]
"""(district, day, tool, user, kind, feature) of an inserted event."""
_CHUNK = 400


async def _groups(session: AsyncSession, events: Sequence[EventKey]) -> dict[tuple[str, str], list[Group]]:
    users: dict[str, set[str]] = {}
    for district, _, _, user, _, _ in events:
        users.setdefault(district, set()).add(user)
    out: dict[tuple[str, str], list[Group]] = {}
    for district, ids in users.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            stmt = select(
                RosterUserGroup.user_id, RosterUserGroup.school_id, RosterUserGroup.dim, RosterUserGroup.value
            ).where(
                RosterUserGroup.district_id == district,
                RosterUserGroup.user_id.in_(ordered[start : start + _CHUNK]),
            )
            for user, school, dim, value in await session.execute(stmt):
                out.setdefault((district, user), []).append((school, dim, value))
    return out


async def add_to_aggregates(session: AsyncSession, events: Sequence[EventKey]) -> None:
    """Add newly inserted events to presence, seen and counters (the SQLite path of ingestion)."""
    if not events:
        return
    masks: dict[tuple[str, dt.date, str, str], int] = {}
    candidates: set[SeenKey] = set()
    for district, day, tool, user, kind, feature in events:
        key = (district, day.replace(day=1), tool, user)
        masks[key] = masks.get(key, 0) | (1 << (day.day - 1))
        f = seen_feature(kind, feature)
        if f is not None:
            for period, period_start in periods(day):
                candidates.update((district, period, period_start, t, kind, f, user) for t in (tool, ""))
    presence: Any = UsagePresence.__table__
    rows = [
        {"district_id": k[0], "month": k[1], "tool_id": k[2], "user_id": k[3], "days": m}
        for k, m in sorted(masks.items())
    ]
    for i in range(0, len(rows), _CHUNK):
        upsert: Any = sqlite.insert(presence).values(rows[i : i + _CHUNK])
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["district_id", "month", "tool_id", "user_id"],
                set_={"days": presence.c.days.op("|")(upsert.excluded.days)},
            )
        )
    seen: Any = UsageSeen.__table__
    names = ["district_id", "period", "period_start", "tool_id", "kind", "feature", "user_id"]
    ordered = sorted(candidates)
    new_seen: list[Any] = []
    for i in range(0, len(ordered), _CHUNK):
        insert: Any = (
            sqlite.insert(seen)
            .values([dict(zip(names, k, strict=True)) for k in ordered[i : i + _CHUNK]])
            .on_conflict_do_nothing()
            .returning(*(seen.c[n] for n in names))
        )
        new_seen.extend(tuple(r) for r in await session.execute(insert))
    deltas = count_deltas(events, new_seen, await _groups(session, events))
    counts: Any = UsageCount.__table__
    keys = ["district_id", "period", "tool_id", "school_id", "dim", "kind", "period_start", "value"]
    values = [
        {**dict(zip(keys, k, strict=True)), "events": e, "users": u} for k, (e, u) in sorted(deltas.items())
    ]
    for i in range(0, len(values), _CHUNK):
        upsert = sqlite.insert(counts).values(values[i : i + _CHUNK])
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=keys,
                set_={
                    "events": counts.c.events + upsert.excluded.events,
                    "users": counts.c.users + upsert.excluded.users,
                },
            )
        )


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    return "postgresql" if bind is not None and bind.dialect.name == "postgresql" else "sqlite"


_PG = {
    "day": "(occurred_at AT TIME ZONE 'UTC')::date",
    "week": "date_trunc('week', day::timestamp)::date",
    "month": "date_trunc('month', day::timestamp)::date",
    "dom": "extract(day FROM day)::int",
}
_SQLITE = {
    "day": "date(occurred_at)",
    "week": "date(day, '-6 days', 'weekday 1')",
    "month": "date(day, 'start of month')",
    "dom": "CAST(strftime('%d', day) AS INTEGER)",
}

_DAILY = """
INSERT INTO analytics.usage_daily (district_id, day, tool_id, user_id, kind, feature, week, month,
                                   events, duration_s)
SELECT district_id, day, tool_id, user_id, kind, feature, {week}, {month}, count(*), sum(duration_s)
FROM (SELECT district_id, {day} AS day, tool_id, user_id, kind, coalesce(feature, '') AS feature,
             coalesce(duration_s, 0) AS duration_s
      FROM analytics.usage_event WHERE district_id = :d) AS e
GROUP BY district_id, day, tool_id, user_id, kind, feature
ORDER BY district_id, day, tool_id, user_id, kind, feature
"""
_PRESENCE = """
INSERT INTO analytics.usage_presence (district_id, month, tool_id, user_id, days)
SELECT district_id, month, tool_id, user_id, sum(DISTINCT 1 << ({dom} - 1))
FROM analytics.usage_daily WHERE district_id = :d
GROUP BY district_id, month, tool_id, user_id
ORDER BY district_id, month, tool_id, user_id
"""
_SEEN = """
INSERT INTO analytics.usage_seen (district_id, period, period_start, tool_id, kind, feature, user_id)
SELECT :d, '{period}', {col}, tool_id, kind, f, user_id FROM (
    SELECT {col}, tool_id, kind, CASE WHEN kind = 'login' THEN '' ELSE feature END AS f, user_id
    FROM analytics.usage_daily WHERE district_id = :d AND kind IN ('login', 'feature_used')
    UNION
    SELECT {col}, '', kind, CASE WHEN kind = 'login' THEN '' ELSE feature END, user_id
    FROM analytics.usage_daily WHERE district_id = :d AND kind IN ('login', 'feature_used')
) AS s
ORDER BY 2, 3, 4, 5, 6, 7
"""
_COUNTS = """
WITH members AS (
    SELECT DISTINCT group_set, school_id, dim, value FROM analytics.roster_user_group WHERE district_id = :d
    UNION ALL
    SELECT '', '', 'grade', 'unassigned'
    UNION ALL
    SELECT '', '', 'subject', 'unassigned'
    UNION ALL
    SELECT '', '', 'all', ''
), sets AS (
    SELECT DISTINCT user_id, group_set FROM analytics.roster_user_group WHERE district_id = :d
), ev AS (
    SELECT 'week' AS period, e.week AS period_start, e.tool_id, coalesce(s.group_set, '') AS group_set,
           e.kind, CASE WHEN e.kind = 'feature_used' THEN e.feature ELSE '' END AS feature,
           sum(e.events) AS events
    FROM analytics.usage_daily AS e LEFT JOIN sets AS s ON s.user_id = e.user_id
    WHERE e.district_id = :d GROUP BY 1, 2, 3, 4, 5, 6
    UNION ALL
    SELECT 'month', e.month, e.tool_id, coalesce(s.group_set, ''), e.kind,
           CASE WHEN e.kind = 'feature_used' THEN e.feature ELSE '' END, sum(e.events)
    FROM analytics.usage_daily AS e LEFT JOIN sets AS s ON s.user_id = e.user_id
    WHERE e.district_id = :d GROUP BY 1, 2, 3, 4, 5, 6
), per AS (
    SELECT period, period_start, tool_id, group_set, kind, feature, events FROM ev
    UNION ALL
    SELECT period, period_start, '', group_set, kind, feature, sum(events) FROM ev GROUP BY 1, 2, 4, 5, 6
), seen AS (
    SELECT u.period, u.period_start, u.tool_id, coalesce(s.group_set, '') AS group_set, u.kind, u.feature,
           count(*) AS users
    FROM analytics.usage_seen AS u LEFT JOIN sets AS s ON s.user_id = u.user_id
    WHERE u.district_id = :d GROUP BY 1, 2, 3, 4, 5, 6
), hits AS (
    SELECT p.period, p.period_start, p.tool_id, m.school_id, m.dim, m.value, p.kind, p.events,
           0 AS users
    FROM per AS p JOIN members AS m ON m.group_set = p.group_set
    UNION ALL
    SELECT p.period, p.period_start, p.tool_id, m.school_id, 'feature', p.feature, p.kind, p.events, 0
    FROM per AS p JOIN members AS m ON m.group_set = p.group_set AND m.dim = 'all'
    WHERE p.kind = 'feature_used'
    UNION ALL
    SELECT s.period, s.period_start, s.tool_id, m.school_id, m.dim, m.value, s.kind, 0, s.users
    FROM seen AS s JOIN members AS m ON m.group_set = s.group_set
    WHERE s.kind = 'login'
    UNION ALL
    SELECT s.period, s.period_start, s.tool_id, m.school_id, 'feature', s.feature, s.kind, 0, s.users
    FROM seen AS s JOIN members AS m ON m.group_set = s.group_set AND m.dim = 'all'
    WHERE s.kind = 'feature_used'
)
INSERT INTO analytics.usage_count (district_id, period, tool_id, school_id, dim, kind, period_start,
                                   value, events, users)
SELECT :d, period, tool_id, school_id, dim, kind, period_start, value, sum(events), sum(users)
FROM hits GROUP BY period, tool_id, school_id, dim, kind, period_start, value
ORDER BY period, tool_id, school_id, dim, kind, period_start, value
"""


async def _delete(session: AsyncSession, district_id: str, *tables: str) -> None:
    for table in tables:  # constant names of this module, never input
        sql = f"DELETE FROM analytics.{table} WHERE district_id = :d"  # noqa: S608
        await session.execute(text(sql), {"d": district_id})


async def _analyze(session: AsyncSession, *tables: str) -> None:
    """Fresh planner statistics after a bulk rebuild (PostgreSQL; inside the transaction)."""
    if _dialect(session) == "postgresql":
        for table in tables:  # constant names of this module, never input
            await session.execute(text(f"ANALYZE analytics.{table}"))


def aggregates_lock(district_id: str) -> str:
    """The lock ingestion holds shared, and rebuilds exclusively, over a district's aggregates."""
    return f"analytics:aggregates:{district_id}"


async def rebuild_counts(session: AsyncSession, district_id: str) -> None:
    """Recompute a district's group counters from the daily rollup, the seen rows and the groups."""
    # No ingestion may be in flight: its counter rows could land between our DELETE and INSERT.
    await advisory_lock(session, aggregates_lock(district_id))
    await _delete(session, district_id, "usage_count")
    await _analyze(session, "roster_user_group")
    await session.execute(text(_COUNTS), {"d": district_id})


async def rebuild_aggregates(session: AsyncSession, district_id: str) -> None:
    """Recompute the daily rollup and every aggregate of a district from its raw events (set-based SQL)."""
    await advisory_lock(session, aggregates_lock(district_id))
    sql = _PG if _dialect(session) == "postgresql" else _SQLITE
    params = {"d": district_id}
    await _delete(session, district_id, "usage_count", "usage_seen", "usage_presence", "usage_daily")
    await session.execute(text(_DAILY.format(day=sql["day"], week=sql["week"], month=sql["month"])), params)
    await _analyze(session, "usage_daily")
    await session.execute(text(_PRESENCE.format(dom=sql["dom"])), params)
    for period in ("week", "month"):
        await session.execute(text(_SEEN.format(period=period, col=period)), params)
    await _analyze(session, "usage_presence", "usage_seen")
    await rebuild_counts(session, district_id)
