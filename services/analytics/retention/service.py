"""Retention: a district's usage is kept for its school years (the current one and the previous one
by default), then deleted, raw events and every aggregate alike; student data is never kept
indefinitely (COPPA).

The cutoff is the Monday on or before the first day of the oldest school year kept, so no week
straddles it. Both are the district's days: its today and the cutoff's midnight are in its time zone
(`district_setting.time_zone`), as its aggregates' days are, so the raw events and the aggregates leave
together. On PostgreSQL raw events live in monthly partitions of `usage_event`: the job keeps partitions
ahead of time and drops the old ones once every district's retention has emptied them. The partitions
are storage shared by every district, cut at UTC month starts: they decide nothing (a district's events
are deleted by its own cutoff, and a partition is dropped only once empty), so they stay in UTC.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog
from prometheus_client import Counter

from services.analytics.config import Settings
from services.analytics.counting.service import trim
from services.analytics.district.service import effective_settings
from services.analytics.retention.repository import RetentionRepository, month_after
from shared.db import Database, try_advisory_lock
from shared.metrics import job_run
from shared.time_zones import local_date

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

EARLIEST_ZONE_AHEAD = dt.timedelta(hours=14)
"""How far ahead of UTC a time zone's clock runs at most (Pacific/Kiritimati)."""

DELETED = Counter("analytics_retention_deleted_events_total", "Usage events deleted past their retention")


def retention_cutoff(today: dt.date, *, school_years: int, start_month: int) -> dt.date:
    """The first day kept: the Monday on or before the start of the oldest school year kept."""
    year = today.year if today.month >= start_month else today.year - 1
    first = dt.date(year - (school_years - 1), start_month, 1)
    return first - dt.timedelta(days=first.weekday())


def months_ahead(today: dt.date, *, before: int = 1, after: int = 3) -> list[dt.date]:
    """The months whose partitions should exist: a little behind today and a few ahead."""
    month = today.replace(day=1)
    for _ in range(before):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    out = []
    for _ in range(before + 1 + after):
        out.append(month)
        month = month_after(month)
    return out


@dataclass
class RetentionRun:
    """What one retention run did."""

    deleted: dict[str, int] = field(default_factory=dict)
    partitions_created: list[dt.date] = field(default_factory=list)
    partitions_dropped: list[dt.date] = field(default_factory=list)


def local_midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """The moment `day` begins in `time_zone` (aware)."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(time_zone))


async def apply_retention(
    db: Database, defaults: Settings, *, today: dt.date | None = None, now: dt.datetime | None = None
) -> RetentionRun:
    """Delete every district's usage past its retention and keep the partitions, step by step.

    `now` (the job's clock) gives each district its own today, in its time zone; `today` (an operator's
    `retention purge --today`) is every district's today as given.
    """
    if now is not None:
        latest_today = (now + EARLIEST_ZONE_AHEAD).date()  # no district's today is later

        def today_in(time_zone: str) -> dt.date:
            return local_date(now, time_zone)
    elif today is not None:
        latest_today = today

        def today_in(time_zone: str) -> dt.date:
            return today
    else:
        raise ValueError("retention needs today or now")
    run = RetentionRun()
    start_month = defaults.school_year_start_month
    partitioned = db.engine.dialect.name == "postgresql"  # SQLite keeps one table
    if partitioned:
        async with db.transaction() as session:
            if await try_advisory_lock(session, "analytics:partitions"):
                run.partitions_created = await RetentionRepository(session).create_partitions(
                    months_ahead(latest_today)
                )
    # the most any district drops
    latest = retention_cutoff(latest_today, school_years=1, start_month=start_month)
    async with db.transaction() as session:
        # the cutoff's midnight comes at most a day after the UTC one, in the zones west of UTC
        districts = await RetentionRepository(session).districts_with_events_before(
            local_midnight(latest + dt.timedelta(days=1), "UTC")
        )
    for district_id in districts:
        async with db.transaction() as session:
            settings = await effective_settings(session, district_id=district_id, defaults=defaults)
            cutoff = retention_cutoff(
                today_in(settings.time_zone),
                school_years=settings.retention_school_years,
                start_month=start_month,
            )
            deleted = await RetentionRepository(session).delete_events(
                district_id, local_midnight(cutoff, settings.time_zone)
            )
            await trim(session, district_id, cutoff)
        if deleted:
            run.deleted[district_id] = deleted
            DELETED.inc(deleted)
            log.info(
                "usage_past_retention_deleted", district_id=district_id, events=deleted, before=str(cutoff)
            )
    if partitioned:
        async with db.transaction() as session:
            if await try_advisory_lock(session, "analytics:partitions"):
                run.partitions_dropped = await RetentionRepository(session).drop_empty_partitions(
                    before=latest
                )
    return run


async def retention_job(runtime: ServiceRuntime) -> None:
    """Background job: apply retention at start and then every `retention_interval_s`."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        try:
            async with job_run(runtime.name, "retention"):
                await apply_retention(runtime.db, settings, now=runtime.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retention_job_failed", error=repr(exc))
        await asyncio.sleep(settings.retention_interval_s)
