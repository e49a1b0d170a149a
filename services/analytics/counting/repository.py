# ruff: noqa: S608  (statements are assembled from `rules` and constant table names, never from input)
"""SQL of counting: load a batch into the temporary tables, run the rules over it, claim work."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting import rules
from services.analytics.models import CountingState, UsagePending
from shared.db import on_postgresql, try_advisory_lock, try_advisory_locks

ANALYZE_FROM = 5_000
"""Batches of at least this many events get statistics on their temporary tables."""


def aggregates_lock(district_id: str) -> str:
    """The lock counting holds shared, and rebuilds and regroups exclusively, over a district."""
    return f"analytics:aggregates:{district_id}"


def shard_lock(shard: int) -> str:
    """The lock a worker holds while it counts a shard's pending events."""
    return f"analytics:counting:shard:{shard}"


class CountingRepository:
    """Runs the counting rules in the session's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = "postgresql" if on_postgresql(session) else "sqlite"
        self.sql = rules.DIALECTS[self.dialect]
        self.large_batch = True
        """Whether the batch is large enough to analyze its temporary tables (rebuilds always are)."""

    @property
    def postgres(self) -> bool:
        """Whether this is PostgreSQL (shards, locks) rather than the embedded SQLite."""
        return self.dialect == "postgresql"

    async def _run(self, statement: str, params: dict[str, Any] | None = None, **snippets: str) -> Any:
        sql = statement.format(**{**self.sql, **snippets})
        return await self.session.execute(text(sql), params or {})

    async def start_batch(self) -> None:
        """Create this connection's temporary tables if needed, empty."""
        for ddl in rules.TEMP_TABLES:
            await self._run(ddl)
        if not self.postgres:  # PostgreSQL empties them at every commit (ON COMMIT DELETE ROWS)
            for table in ("agg_event", "agg_daily", "agg_seen"):
                await self._run(f"DELETE FROM {table}")

    # -- what a batch is made of -------------------------------------------------------------

    async def busy_shards(self) -> list[int]:
        """Shards with pending events (SQLite: all, one worker)."""
        if not self.postgres:
            return list(range(rules.SHARDS))
        rows = await self._run(
            f"SELECT s FROM generate_series(0, {rules.SHARDS - 1}) AS s WHERE EXISTS "
            "(SELECT 1 FROM analytics.usage_pending AS p WHERE p.shard = s)"
        )
        return [int(s) for (s,) in rows]

    async def claim_shards(self, busy: Sequence[int]) -> list[int]:
        """Lock up to half of the busy shards no other worker holds (at least one), in random order.

        Half, so that a second replica always finds work while the first counts; every shard's
        user rows (daily, presence, seen) are then written by one worker at a time.
        """
        if not self.postgres:
            return list(busy)
        order = random.sample(list(busy), len(busy))
        taken = await try_advisory_locks(
            self.session, [shard_lock(s) for s in order], want=max(1, len(busy) // 2)
        )
        return [order[i] for i in taken]

    async def load_pending(self, shards: Sequence[int], *, limit: int) -> None:
        """The oldest pending events of these shards, up to `limit`, into the batch."""
        stmt = text(rules.LOAD_PENDING).bindparams(bindparam("shards", expanding=True))
        await self.session.execute(stmt, {"shards": list(shards), "limit": limit})

    async def skip_busy_districts(self) -> None:
        """Leave in the queue the events of districts a rebuild or regroup holds (PostgreSQL)."""
        if not self.postgres:
            return
        districts = [d for (d,) in await self._run("SELECT DISTINCT district_id FROM agg_event")]
        held = []
        for district in sorted(districts):
            if not await try_advisory_lock(self.session, aggregates_lock(district), shared=True):
                held.append(district)
        if held:
            stmt = text("DELETE FROM agg_event WHERE district_id IN :held").bindparams(
                bindparam("held", expanding=True)
            )
            await self.session.execute(stmt, {"held": held})

    async def take_pending(self) -> tuple[int, dt.datetime | None]:
        """Delete the batch's events from the queue; returns how many and the oldest receipt time.

        Only the rows this transaction deletes stay in the batch: one that a retention run removed
        from the queue since the batch was loaded is not counted.
        """
        loaded = int(await self.session.scalar(text("SELECT count(*) FROM agg_event")) or 0)
        if loaded:
            gone = [
                i
                for (i,) in await self._run(
                    "DELETE FROM analytics.usage_pending WHERE id IN (SELECT id FROM agg_event) RETURNING id"
                )
            ]
            if len(gone) < loaded:
                await self.session.execute(
                    text("DELETE FROM agg_event WHERE id NOT IN :gone").bindparams(
                        bindparam("gone", expanding=True)
                    ),
                    {"gone": gone or [-1]},
                )
        row = (await self._run("SELECT count(*), min(received_at) FROM agg_event")).one()
        self.large_batch = int(row[0]) >= ANALYZE_FROM
        oldest = row[1]
        if isinstance(oldest, str):  # SQLite hands the temporary table's text back
            oldest = dt.datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        return int(row[0]), oldest

    async def load_events(self, district_id: str) -> None:
        """All of a district's stored events into the batch (a rebuild)."""
        await self._run(rules.LOAD_EVENTS, {"d": district_id}, shard="0")

    async def load_daily(self, district_id: str) -> None:
        """A district's daily rollup, as it stands, into the batch's daily rows (a regroup)."""
        await self._run(rules.LOAD_DAILY, {"d": district_id})
        await self._analyze("agg_daily")

    async def load_month(self, district_id: str, month: dt.date) -> None:
        """A district's daily rows of one month into the batch's daily rows (a month's recount)."""
        await self._run(rules.LOAD_MONTH, {"d": district_id, "m": month})
        await self._analyze("agg_daily")

    async def trim(self, district_id: str, cutoff: dt.date) -> None:
        """Delete what every layer holds of the days before `cutoff` (a Monday)."""
        later_days = ((1 << 31) - 1) ^ ((1 << (cutoff.day - 1)) - 1)
        params = {"d": district_id, "c": cutoff, "m": cutoff.replace(day=1), "keep": later_days}
        for statement in rules.TRIM:
            await self._run(statement, params)

    async def clear(self, district_id: str, *layers: str) -> None:
        """Delete a district's rows of these aggregate tables (names from `rules.LAYERS`)."""
        for layer in layers:
            if layer not in rules.LAYERS:
                raise ValueError(f"not an aggregate table: {layer}")
            await self._run(f"DELETE FROM analytics.{layer} WHERE district_id = :d", {"d": district_id})

    # -- the rules, layer by layer ------------------------------------------------------------

    async def add_daily(self) -> None:
        """Sum the batch's events per daily key and add them to the daily rollup."""
        await self._run(rules.DAILY)
        await self._analyze("agg_daily")
        await self._run(rules.ADD_DAILY)

    async def add_presence(self) -> None:
        """Set the batch's days in the presence masks."""
        await self._run(rules.ADD_PRESENCE)

    async def add_seen(self, *, periods: str = rules.PERIODS) -> None:
        """Record the users the batch shows for the first time in each period and scope."""
        await self._run(rules.NEW_SEEN, periods=periods)
        await self._analyze("agg_seen")
        await self._run(rules.ADD_SEEN)

    async def add_counts(self, *, periods: str = rules.PERIODS) -> None:
        """Add the batch's events and first-seen users to the group counters."""
        await self._run(rules.ADD_COUNTS, periods=periods)

    async def _analyze(self, table: str) -> None:
        # Temporary tables get no statistics on their own; the counters' joins over a large batch
        # need them. A small batch is cheaper to plan without (its nested loops stay small).
        if self.postgres and self.large_batch:
            await self._run(f"ANALYZE {table}")

    # -- regroup requests and freshness ----------------------------------------------------

    async def request_regroup(self, district_id: str, at: dt.datetime) -> None:
        """Ask for a district's counters to be regrouped (a roster import changed its groups)."""
        table: Any = CountingState.__table__
        insert = postgresql.insert if self.postgres else sqlite.insert
        stmt = insert(table).values(district_id=district_id, regroup_requested_at=at)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["district_id"], set_={"regroup_requested_at": at})
        )

    async def request_rebuild(self, district_id: str, at: dt.datetime) -> None:
        """Ask for a district to be recounted from its events (some moved to another person)."""
        table: Any = CountingState.__table__
        insert = postgresql.insert if self.postgres else sqlite.insert
        stmt = insert(table).values(district_id=district_id, rebuild_requested_at=at)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["district_id"], set_={"rebuild_requested_at": at})
        )

    async def rebuilds_due(self) -> list[tuple[str, dt.datetime]]:
        """(district, requested_at) of districts waiting for a recount from their events."""
        s = CountingState
        rows = await self.session.execute(
            select(s.district_id, s.rebuild_requested_at).where(s.rebuild_requested_at.is_not(None))
        )
        return [(d, at) for d, at in rows.all() if at is not None]

    async def rebuilt(self, district_id: str, requested_at: dt.datetime) -> None:
        """Record that the recount asked for at `requested_at` is done (unless asked again since)."""
        await self.session.execute(
            update(CountingState)
            .where(
                CountingState.district_id == district_id,
                CountingState.rebuild_requested_at == requested_at,
            )
            .values(rebuild_requested_at=None)
        )

    async def regroups_due(self) -> list[tuple[str, dt.datetime]]:
        """(district, requested_at) of districts whose counters wait for a regroup."""
        s = CountingState
        rows = await self.session.execute(
            select(s.district_id, s.regroup_requested_at).where(
                s.regroup_requested_at.is_not(None),
                (s.regrouped_at.is_(None)) | (s.regrouped_at < s.regroup_requested_at),
            )
        )
        return [(d, at) for d, at in rows.all() if at is not None]

    async def regrouped(self, district_id: str, requested_at: dt.datetime) -> None:
        """Record that the counters reflect the groups as of `requested_at`."""
        await self.session.execute(
            update(CountingState)
            .where(CountingState.district_id == district_id)
            .values(regrouped_at=requested_at)
        )

    async def pending(self, district_id: str) -> tuple[int, dt.datetime | None]:
        """(events waiting to be counted, the oldest one's receipt time) of a district."""
        p = UsagePending
        row = (
            await self.session.execute(
                select(func.count(), func.min(p.received_at)).where(p.district_id == district_id)
            )
        ).one()
        return int(row[0]), row[1]

    async def backlog(self) -> tuple[int, dt.datetime | None]:
        """(events waiting to be counted, the oldest one's receipt time) over every district."""
        p = UsagePending
        row = (await self.session.execute(select(func.count(), func.min(p.received_at)))).one()
        return int(row[0]), row[1]

    async def regroup_requested_at(self, district_id: str) -> dt.datetime | None:
        """When a roster import last asked for the district to be regrouped."""
        return await self.session.scalar(
            select(CountingState.regroup_requested_at).where(CountingState.district_id == district_id)
        )

    async def regroup_pending(self, district_id: str) -> bool:
        """Whether a roster import's regroup (or recount) of the district has yet to run."""
        s = CountingState
        row = (
            await self.session.execute(
                select(s.regroup_requested_at, s.regrouped_at, s.rebuild_requested_at).where(
                    s.district_id == district_id
                )
            )
        ).one_or_none()
        if row is None:
            return False
        if row[2] is not None:
            return True
        if row[0] is None:
            return False
        return row[1] is None or row[1] < row[0]
