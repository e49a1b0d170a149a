"""Dashboards over millions of stored events: seed them once, then time each endpoint through the edge.

Seeding (one bench district): a roster (schools, classes by grade and subject, teachers, students)
and its derived groups through the analytics roster code; licenses, baselines, tool names, TAM
answers and errors; the raw usage events by asyncpg COPY; then every rollup and aggregate rebuilt
from the raw events by `counting.service.rebuild`, the same function a repair would run, so seeding and
ingestion cannot disagree (the tests check ingestion's increments equal that recount).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bench.harness import Row, percentile, summary_ms, timed
from services.analytics.counting.service import rebuild
from services.analytics.models import (
    ErrorDaily,
    License,
    RosterClass,
    RosterEnrollment,
    RosterOrg,
    RosterUser,
    SubmissionBaseline,
    TamResponse,
    ToolInfo,
)
from services.analytics.rosters.repository import RosterRepository
from services.analytics.rosters.service import rebuild_attributes
from services.demo import dev_headers
from shared.cluster import LocalCluster
from shared.db import Database

SCHOOLS = 10
TOOLS = 5
WEEKS = 26
SUBJECTS = ("math", "ela", "science", "social studies")
FEATURES = ("quiz", "whiteboard", "chat", "video", "flashcards", "poll", "notes", "timer")
KINDS = ("login", "feature_used", "assignment_started", "assignment_submitted", "time_in_tool")
KIND_WEIGHTS = (30, 30, 15, 12, 13)
COLUMNS = (
    "district_id",
    "event_id",
    "tool_id",
    "user_id",
    "kind",
    "occurred_at",
    "feature",
    "duration_s",
    "source",
    "received_at",
)
TARGET_MS = 100.0


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[dashboards] {message}", file=sys.stderr, flush=True)


def this_sunday() -> dt.date:
    """The Sunday ending this week (the dashboards' default `to`)."""
    today = dt.datetime.now(dt.UTC).date()
    return today + dt.timedelta(days=6 - today.weekday())


class Plan:
    """The bench district: its tools, schools, users and the days its events fall on."""

    def __init__(self, district: str, users: int) -> None:
        self.district = district
        self.tools = [str(uuid.UUID(int=i + 1)) for i in range(TOOLS)]
        self.schools = [f"sch-{i}" for i in range(SCHOOLS)]
        self.teachers = [f"t{i:04d}" for i in range(max(SCHOOLS, users // 20))]
        self.students = [f"s{i:05d}" for i in range(users - len(self.teachers))]
        self.users = self.teachers + self.students
        self.last = this_sunday()
        self.first = self.last - dt.timedelta(days=7 * WEEKS - 1)

    def grade(self, school: int, n: int) -> str:
        """One of three grade levels taught at a school."""
        return f"{(school * 3 + n) % 12 + 1:02d}"

    def roster(self) -> dict[Any, list[dict[str, Any]]]:
        """Rows of the roster tables."""
        d = self.district
        orgs = [{"district_id": d, "sourced_id": "dist", "name": "Bench District", "type": "district"}]
        orgs += [
            {"district_id": d, "sourced_id": s, "name": f"School {s}", "type": "school", "parent_id": "dist"}
            for s in self.schools
        ]
        classes, users, enrollments = [], [], []
        class_ids: dict[tuple[int, int], list[str]] = {}
        for school in range(SCHOOLS):
            for n in range(3):
                for subject in SUBJECTS:
                    cid = f"c-{school}-{n}-{subject[:3]}"
                    class_ids.setdefault((school, n), []).append(cid)
                    classes.append(
                        {
                            "district_id": d,
                            "sourced_id": cid,
                            "title": f"{subject} {self.grade(school, n)}",
                            "school_id": self.schools[school],
                            "grades": [self.grade(school, n)],
                            "subjects": [subject],
                        }
                    )
        for i, user in enumerate(self.users):
            school, n = i % SCHOOLS, (i // SCHOOLS) % 3
            teacher = i < len(self.teachers)
            users.append(
                {
                    "district_id": d,
                    "sourced_id": user,
                    "role": "teacher" if teacher else "student",
                    "school_id": self.schools[school],
                    "org_ids": [self.schools[school]],
                    "grades": [] if teacher else [self.grade(school, n)],
                    "enabled": True,
                }
            )
            mine = class_ids[(school, n)]
            for cid in mine[i % 4 : i % 4 + 1] if teacher else mine:
                enrollments.append(
                    {
                        "district_id": d,
                        "sourced_id": f"e-{user}-{cid}",
                        "class_id": cid,
                        "user_id": user,
                        "role": "teacher" if teacher else "student",
                    }
                )
        return {RosterOrg: orgs, RosterClass: classes, RosterUser: users, RosterEnrollment: enrollments}

    def events(self, total: int, chunk: int, rng: random.Random) -> Iterator[list[tuple[Any, ...]]]:
        """Chunks of raw usage_event records: each user on two tools, weekdays five times as busy."""
        days = [self.first + dt.timedelta(days=i) for i in range(7 * WEEKS)]
        weighted = [d for d in days for _ in range(5 if d.weekday() < 5 else 1)]
        moments = [
            dt.datetime.combine(d, dt.time(7 + h, m), dt.UTC)
            for d in weighted
            for h, m in ((0, 5), (3, 40), (8, 15))
        ]
        received = dt.datetime.now(dt.UTC)
        n_users, district = len(self.users), self.district
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            who = rng.choices(range(n_users), k=n)
            second = rng.choices((0, 1), k=n)
            kinds = rng.choices(KINDS, weights=KIND_WEIGHTS, k=n)
            features = rng.choices(FEATURES, k=n)
            when = rng.choices(moments, k=n)
            yield [
                (
                    district,
                    f"e{start + i}",
                    self.tools[(u + s) % TOOLS],
                    self.users[u],
                    k,
                    w,
                    f if k == "feature_used" else None,
                    120.0 if k == "time_in_tool" else None,
                    "platform",
                    received,
                )
                for i, (u, s, k, f, w) in enumerate(zip(who, second, kinds, features, when, strict=True))
            ]


async def seed(database_url: str, district: str, *, events: int, users: int) -> Plan:
    """Roster, licenses and other inputs, `events` raw usage events, and the aggregates rebuilt."""
    plan = Plan(district, users)
    rng = random.Random(20261124)
    db = Database(database_url, "analytics")
    started = time.perf_counter()
    try:
        async with db.transaction() as session:
            for model, rows in plan.roster().items():
                await session.execute(insert(model), rows)
            await rebuild_attributes(RosterRepository(session), district)
            await session.execute(
                insert(ToolInfo),
                [
                    {"district_id": district, "tool_id": t, "name": f"Tool {i}", "status": "adopted"}
                    for i, t in enumerate(plan.tools)
                ],
            )
            await session.execute(
                insert(License),
                [
                    {
                        "district_id": district,
                        "tool_id": t,
                        "seats_purchased": 9000,
                        "cost_per_seat": 4.5,
                        "teacher_seats": 400 if i % 2 else None,
                    }
                    for i, t in enumerate(plan.tools)
                ],
            )
            await session.execute(
                insert(SubmissionBaseline),
                [{"district_id": district, "subject": s, "rate": 0.7} for s in ("all", *SUBJECTS)],
            )
            await session.execute(
                insert(TamResponse),
                [
                    {
                        "district_id": district,
                        "tool_id": plan.tools[i % TOOLS],
                        "respondent_id": t,
                        "answers": 10,
                        "positive": 5 + i % 6,
                        "buy_in_target": 0.85,
                        "responded_at": dt.datetime.combine(
                            plan.last - dt.timedelta(days=i % 90), dt.time(), dt.UTC
                        ),
                    }
                    for i, t in enumerate(plan.teachers)
                ],
            )
            day = plan.first
            errors = []
            while day <= plan.last:
                for i, t in enumerate(plan.tools):
                    errors.append(
                        {
                            "district_id": district,
                            "tool_id": t,
                            "day": day,
                            "severity": ("low", "high")[i % 2],
                            "week": day - dt.timedelta(days=day.weekday()),
                            "month": day.replace(day=1),
                            "errors": 1 + i,
                        }
                    )
                day += dt.timedelta(days=1)
            await session.execute(insert(ErrorDaily), errors)
        log(f"roster of {len(plan.users)} users and district inputs in {time.perf_counter() - started:.1f} s")
        url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(url)
        try:
            copied = 0
            for records in plan.events(events, 250_000, rng):
                await conn.copy_records_to_table(
                    "usage_event", schema_name="analytics", columns=COLUMNS, records=records
                )
                copied += len(records)
                if copied % 1_000_000 < len(records) or copied == events:
                    log(f"{copied:,} events copied ({time.perf_counter() - started:.0f} s)")
        finally:
            await conn.close()
        async with db.transaction() as session:
            await session.execute(text("SET LOCAL work_mem = '512MB'"))
            await rebuild(session, district)
        log(f"aggregates rebuilt from the raw events ({time.perf_counter() - started:.0f} s)")
        async with db.engine.connect() as conn2:
            await conn2.execution_options(isolation_level="AUTOCOMMIT")
            await conn2.execute(text("ANALYZE"))
        log(f"seeded in {time.perf_counter() - started:.0f} s")
    finally:
        await db.engine.dispose()
    return plan


Params = dict[str, str]


def requests_for(plan: Plan, rng: random.Random, n: int) -> dict[str, list[tuple[str, Params]]]:
    """`n` GETs per endpoint with varied dates (whole weeks/months, or any days), tools and schools."""

    def filters(school: bool = True) -> Params:
        out: Params = {}
        if rng.random() < 0.5:
            out["tool_id"] = rng.choice(plan.tools)
        if school and rng.random() < 0.4:
            out["school_id"] = rng.choice(plan.schools)
        return out

    def weeks() -> Params:
        end = plan.last - dt.timedelta(days=7 * rng.randrange(0, 8))
        start = end - dt.timedelta(days=7 * rng.randrange(4, 13) - 1)
        return {"from": start.isoformat(), "to": end.isoformat()}

    def months() -> Params:
        last = plan.last.replace(day=1)
        firsts = [last]
        while len(firsts) < 6:
            firsts.append((firsts[-1] - dt.timedelta(days=1)).replace(day=1))
        a, b = sorted(rng.sample(range(len(firsts)), 2))
        end = (firsts[a].replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return {"from": firsts[b].isoformat(), "to": end.isoformat()}

    def any_days() -> Params:
        start = plan.first + dt.timedelta(days=rng.randrange(0, 7 * WEEKS - 30))
        end = min(plan.last, start + dt.timedelta(days=rng.randrange(14, 120)))
        return {"from": start.isoformat(), "to": end.isoformat()}

    def month_of_report() -> Params:
        first = plan.last.replace(day=1)
        for _ in range(rng.randrange(0, 5)):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return {"month": first.strftime("%Y-%m")}

    def logins() -> Params:
        period = rng.choice(("week", "month"))
        dates = weeks() if period == "week" else months()
        return {**dates, **filters(), "period": period, "group_by": rng.choice(("grade", "subject"))}

    makers: dict[str, tuple[str, Callable[[], Params]]] = {
        "logins (whole weeks / months)": ("/api/analytics/dashboards/logins", logins),
        "submissions (whole weeks)": (
            "/api/analytics/dashboards/submissions",
            lambda: {**weeks(), **filters()},
        ),
        "features heatmap (whole weeks)": (
            "/api/analytics/dashboards/features",
            lambda: {**weeks(), **filters()},
        ),
        "licenses (any days)": (
            "/api/analytics/dashboards/licenses",
            lambda: {**any_days(), **filters(False)},
        ),
        "teachers (any days)": ("/api/analytics/dashboards/teachers", lambda: {**any_days(), **filters()}),
        "errors (whole weeks)": ("/api/analytics/dashboards/errors", lambda: {**weeks(), **filters(False)}),
        "monthly report": ("/api/analytics/reports/monthly", lambda: {**month_of_report(), **filters()}),
        "logins (any days: edges from per-user rollups)": (
            "/api/analytics/dashboards/logins",
            lambda: {
                **any_days(),
                **filters(),
                "period": "week",
                "group_by": rng.choice(("grade", "subject")),
            },
        ),
    }
    return {name: [(path, make()) for _ in range(n)] for name, (path, make) in makers.items()}


async def dashboards(
    cluster: LocalCluster,
    database_url: str,
    workdir: Path,
    *,
    events: int = 10_000_000,
    users: int = 8000,
    requests: int = 200,
) -> list[Row]:
    """Seed `events` usage events once, then p95 of each dashboard endpoint through the edge."""
    district = f"bench-dash-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    plan = await seed(database_url, district, events=events, users=users)
    seeded_s = time.perf_counter() - started
    rng = random.Random(7)
    rows = [
        Row(
            f"seeding {events:,} events ({len(plan.users):,} users, {WEEKS} weeks)",
            f"{seeded_s:.0f} s",
            "- (once)",
            None,
        )
    ]
    async with httpx.AsyncClient(base_url=cluster.public_url, timeout=60) as gw:
        headers = await dev_headers(gw, district, "admin")
        for name, calls in requests_for(plan, rng, requests).items():
            for path, params in calls[:10]:  # warm the services' caches and connection pools
                (await gw.get(path, params=params, headers=headers)).raise_for_status()
            samples: list[float] = []
            for path, params in calls:
                started = timed()
                r = await gw.get(path, params=params, headers=headers)
                samples.append(timed() - started)
                if r.status_code != 200:
                    raise RuntimeError(f"{path} {params}: {r.status_code} {r.text[:300]}")
            p95 = percentile(samples, 95) * 1000
            log(f"{name}: {summary_ms(samples)}")
            rows.append(Row(f"{name}, p95", f"{p95:.1f} ms", f"< {TARGET_MS:.0f} ms", p95 < TARGET_MS))
    return rows
