"""When counting runs: a worker drains the pending events; rebuilds and regroups recount a district.

How replicas share the work: pending events are spread over `rules.SHARDS` shards by (district,
user). A worker pass locks up to half of the busy shards that no other worker holds (advisory
locks, transaction-scoped), takes their oldest events and, in the same transaction, deletes them
from the queue and adds them to every layer. Each user's rows are thus written by one worker at a
time (no first-seen row is claimed twice), the counters are additions that commute, and a worker
killed at any point leaves its events queued for the next pass. A rebuild or regroup holds its
district exclusively; workers hold the districts they count shared and skip a held district.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting import rules
from services.analytics.counting.repository import CountingRepository, aggregates_lock
from services.analytics.counting.schemas import Freshness
from shared.db import Database, advisory_lock, try_advisory_lock, utcnow
from shared.metrics import job_run

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

COUNTED = Counter("analytics_counted_events_total", "Usage events added to the dashboard aggregates")
LAG = Histogram(
    "analytics_counting_lag_seconds",
    "Time from an event's receipt to its counting (the oldest event of each counted batch)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
PENDING = Gauge("analytics_counting_pending_events", "Usage events stored but not yet counted")
PENDING_AGE = Gauge(
    "analytics_counting_oldest_pending_age_seconds",
    "How far the dashboards trail: the age of the oldest event not yet counted (0 when none waits)",
)
REGROUPS = Counter(
    "analytics_regroups_total",
    "Districts whose counters were regrouped or recounted after a roster import",
)

UNASSIGNED = "unassigned"
"""The grade or subject of a user the roster does not describe."""

Group = tuple[str, str, str]
"""(school ('' = all), dim, value) a user is counted in."""


def user_groups(
    attributes: Iterable[tuple[str, str, str]], users: Iterable[str]
) -> list[tuple[str, str, Group]]:
    """(user, group set key, group) rows from (user, kind, value) attributes: schools x grade/subject/all.

    A user is counted in every school it belongs to and in all schools (''), under each of its grade
    levels and subjects (`unassigned` when it has none) and in `all`.
    """
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


async def _derive(repo: CountingRepository) -> None:
    """Every layer from the batch of events in the temporary tables, in order."""
    await repo.add_daily()
    await repo.add_presence()
    await repo.add_seen()
    await repo.add_counts()


@dataclass(frozen=True, slots=True)
class Pass:
    """What one worker pass counted."""

    events: int
    oldest: dt.datetime | None


async def count_pending(db: Database, *, max_events: int = 20_000) -> Pass:
    """One worker pass: claim shards, count their oldest pending events, in one transaction."""
    async with db.transaction() as session:
        repo = CountingRepository(session)
        shards = await repo.claim_shards(await repo.busy_shards())
        if not shards:
            return Pass(0, None)
        await repo.start_batch()
        await repo.load_pending(shards, limit=max_events)
        await repo.skip_busy_districts()
        events, oldest = await repo.take_pending()
        if events:
            await _derive(repo)
    if events:
        COUNTED.inc(events)
        if oldest is not None:
            LAG.observe(max(0.0, (utcnow() - oldest).total_seconds()))
    return Pass(events, oldest)


async def count_all(db: Database, *, max_events: int = 20_000) -> int:
    """Count until nothing is pending (tests, tools); returns how many events were counted."""
    total = 0
    while (counted := await count_pending(db, max_events=max_events)).events:
        total += counted.events
    return total


async def rebuild(session: AsyncSession, district_id: str) -> None:
    """Recount every layer of a district from its stored events (repairs, seeding).

    Events still queued are left to the workers, so each event is counted once either way.
    """
    await advisory_lock(session, aggregates_lock(district_id))
    repo = CountingRepository(session)
    requested = await repo.regroup_requested_at(district_id)
    await repo.clear(district_id, *rules.LAYERS)
    await repo.start_batch()
    await repo.load_events(district_id)
    await _derive(repo)
    if requested is not None:  # counted with today's groups: a regroup asked for before is done too
        await repo.regrouped(district_id, requested)


async def regroup(session: AsyncSession, district_id: str) -> None:
    """Recount a district's counters (and first-seen rows) from its daily rollup with today's groups."""
    await advisory_lock(session, aggregates_lock(district_id))
    repo = CountingRepository(session)
    await repo.clear(district_id, "usage_count", "usage_seen")
    await repo.start_batch()
    await repo.load_daily(district_id)  # the daily rows and presence masks stay as they are
    await repo.add_seen()
    await repo.add_counts()


async def trim(session: AsyncSession, district_id: str, cutoff: dt.date) -> None:
    """Forget every aggregate of the days before `cutoff` (a Monday), as if those events never were.

    The month the cutoff falls in keeps its later days: its counters are recounted from them.
    """
    if cutoff.weekday() != 0:
        raise ValueError("a retention cutoff is a Monday (no week straddles it)")
    await advisory_lock(session, aggregates_lock(district_id))
    repo = CountingRepository(session)
    await repo.trim(district_id, cutoff)
    if cutoff.day != 1:
        await repo.start_batch()
        await repo.load_month(district_id, cutoff.replace(day=1))
        await repo.add_seen(periods=rules.MONTHS_ONLY)
        await repo.add_counts(periods=rules.MONTHS_ONLY)


async def request_regroup(session: AsyncSession, district_id: str) -> None:
    """Ask the workers to regroup a district's counters (in the caller's transaction)."""
    await CountingRepository(session).request_regroup(district_id, utcnow())


async def request_rebuild(session: AsyncSession, district_id: str) -> None:
    """Ask the workers to recount a district from its events (in the caller's transaction)."""
    await CountingRepository(session).request_rebuild(district_id, utcnow())


async def regroup_due(db: Database) -> int:
    """Recount or regroup every district that asked for it since; returns how many."""
    async with db.transaction() as session:
        repo = CountingRepository(session)
        rebuilds = await repo.rebuilds_due()
        due = await repo.regroups_due()
    rebuilt = {d for d, _ in rebuilds}
    work = [(d, at, True) for d, at in rebuilds] + [(d, at, False) for d, at in due if d not in rebuilt]
    done = 0
    for district_id, requested_at, recount in work:  # a recount regroups too
        async with db.transaction() as session:
            if not await try_advisory_lock(session, f"analytics:regroup:{district_id}"):
                continue  # another replica does it
            repo = CountingRepository(session)
            if recount:
                await rebuild(session, district_id)
                await repo.rebuilt(district_id, requested_at)
            else:
                await regroup(session, district_id)
                await repo.regrouped(district_id, requested_at)
        REGROUPS.inc()
        log.info("counters_recounted" if recount else "counters_regrouped", district_id=district_id)
        done += 1
    return done


async def sample_backlog(db: Database) -> None:
    """Set the counting backlog gauges (read at each scrape of /metrics): what freshness says of
    one district, over them all."""
    async with db.transaction() as session:
        waiting, oldest = await CountingRepository(session).backlog()
    PENDING.set(waiting)
    PENDING_AGE.set(max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0)


async def freshness(session: AsyncSession, district_id: str) -> Freshness:
    """Up to when the district's figures are complete; read it before the figures."""
    repo = CountingRepository(session)
    now = utcnow()
    waiting, oldest = await repo.pending(district_id)
    return Freshness(
        complete_through=oldest if oldest is not None else now,
        pending_events=waiting,
        groups_current=not await repo.regroup_pending(district_id),
    )


class CountingWorker:
    """The background job that counts pending events and runs requested regroups.

    A pass that counted something is followed at once by the next (a backlog, or the shards it left
    to other workers). An idle worker waits for a wake-up (events appended by this process) or the
    poll interval (by other replicas), then lingers a moment so that its first pass counts many
    events rather than a few: the lag stays well under the freshness target, the work per event small.
    """

    def __init__(self, *, max_events: int, poll_interval_s: float, linger_s: float) -> None:
        self.max_events = max_events
        self.poll_interval_s = poll_interval_s
        self.linger_s = linger_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Start a pass soon (events were just appended here)."""
        self._wake.set()

    async def run(self, runtime: ServiceRuntime) -> None:
        """Count until cancelled."""
        backoff = self.poll_interval_s
        while True:
            self._wake.clear()
            try:
                async with job_run(runtime.name, "counting"):
                    counted = await count_pending(runtime.db, max_events=self.max_events)
                    await regroup_due(runtime.db)
                backoff = self.poll_interval_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("counting_pass_failed", error=repr(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if counted.events:
                continue  # more may be queued: the shards this pass left, events that came meanwhile
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            await asyncio.sleep(self.linger_s)
