"""Queries on the roster (academic sessions, pages of people, derived attributes and groups) and on
roster import jobs. An import's upserts and removals are written from its staging tables
(`rosters/staging.py`)."""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.analytics.models import (
    RosterAcademicSession,
    RosterClass,
    RosterEnrollment,
    RosterImportChunk,
    RosterImportJob,
    RosterOrg,
    RosterUser,
    RosterUserAttribute,
    RosterUserGroup,
)
from shared.db import insert_many, utcnow

RosterModel = (
    type[RosterOrg]
    | type[RosterAcademicSession]
    | type[RosterClass]
    | type[RosterUser]
    | type[RosterEnrollment]
)


class RosterRepository:
    """Roster tables of one session, scoped by district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def covering_sessions(
        self, district_id: str, day: dt.date, types: Iterable[str]
    ) -> Sequence[RosterAcademicSession]:
        """The district's academic sessions of these types that cover a day (end date exclusive)."""
        stmt = select(RosterAcademicSession).where(
            RosterAcademicSession.district_id == district_id,
            RosterAcademicSession.type.in_(list(types)),
            RosterAcademicSession.start_date <= day,
            RosterAcademicSession.end_date > day,
        )
        return (await self.session.scalars(stmt)).all()

    async def schools(self, district_id: str, *, limit: int, offset: int) -> tuple[Sequence[RosterOrg], int]:
        """A page of the district's rostered schools by name (then sourcedId), and their total."""
        where = [RosterOrg.district_id == district_id, RosterOrg.type == "school"]
        total = await self.session.scalar(select(func.count()).select_from(RosterOrg).where(*where))
        rows = await self.session.scalars(
            select(RosterOrg)
            .where(*where)
            .order_by(RosterOrg.name, RosterOrg.sourced_id)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    def _people(self, column: Any, after: str | None, through: str | None = None) -> list[Any]:
        return [
            *([column > after] if after is not None else []),
            *([column <= through] if through is not None else []),
        ]

    async def people_page_end(self, district_id: str, *, after: str | None, size: int) -> str | None:
        """The last of the next `size` people (users, or ids enrollments name) after `after`; None
        when there are none (pages of people in sourcedId order, each read by a range)."""
        users = select(RosterUser.sourced_id.label("id")).where(
            RosterUser.district_id == district_id, *self._people(RosterUser.sourced_id, after)
        )
        enrolled = select(RosterEnrollment.user_id.label("id")).where(
            RosterEnrollment.district_id == district_id, *self._people(RosterEnrollment.user_id, after)
        )
        # UNION ALL in order with a limit: both sides walk their index and stop early
        page = union_all(users, enrolled).order_by("id").limit(size).subquery()
        return await self.session.scalar(select(func.max(page.c.id)))

    async def users(self, district_id: str, *, after: str | None, through: str) -> Sequence[Any]:
        """(sourced_id, school_id, grades) of the users of a page of people."""
        stmt = select(RosterUser.sourced_id, RosterUser.school_id, RosterUser.grades).where(
            RosterUser.district_id == district_id, *self._people(RosterUser.sourced_id, after, through)
        )
        return (await self.session.execute(stmt)).all()

    async def class_memberships(self, district_id: str, *, after: str | None, through: str) -> Sequence[Any]:
        """(user_id, school_id, grades, subjects) of a page of people's enrollments with their class."""
        stmt = (
            select(RosterEnrollment.user_id, RosterClass.school_id, RosterClass.grades, RosterClass.subjects)
            .join(
                RosterClass,
                (RosterClass.district_id == RosterEnrollment.district_id)
                & (RosterClass.sourced_id == RosterEnrollment.class_id),
            )
            .where(
                RosterEnrollment.district_id == district_id,
                *self._people(RosterEnrollment.user_id, after, through),
            )
        )
        return (await self.session.execute(stmt)).all()

    async def clear_derived(self, district_id: str) -> None:
        """Remove the district's derived attributes and counter groups (before they are derived anew)."""
        for model in (RosterUserAttribute, RosterUserGroup):
            await self.session.execute(delete(model).where(model.district_id == district_id))

    async def add_attributes(self, district_id: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Add derived (user, kind, value) attributes."""
        table: Any = RosterUserAttribute.__table__
        values = [(district_id, u, k, v) for u, k, v in rows]
        await insert_many(self.session, table, ("district_id", "user_id", "kind", "value"), values)

    async def add_groups(
        self, district_id: str, rows: Iterable[tuple[str, str, tuple[str, str, str]]]
    ) -> None:
        """Add derived (user, group set, (school, dim, value)) counter groups."""
        table: Any = RosterUserGroup.__table__
        columns = ("district_id", "user_id", "group_set", "school_id", "dim", "value")
        values = [(district_id, u, k, s, d, v) for u, k, (s, d, v) in rows]
        await insert_many(self.session, table, columns, values)

    async def replace_attributes(self, district_id: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Replace the district's derived (user, kind, value) attributes."""
        await self.session.execute(
            delete(RosterUserAttribute).where(RosterUserAttribute.district_id == district_id)
        )
        await self.add_attributes(district_id, rows)

    async def replace_groups(
        self, district_id: str, rows: Iterable[tuple[str, str, tuple[str, str, str]]]
    ) -> None:
        """Replace the district's derived (user, group set, (school, dim, value)) counter groups."""
        await self.session.execute(delete(RosterUserGroup).where(RosterUserGroup.district_id == district_id))
        await self.add_groups(district_id, rows)


UNFINISHED = ("queued", "running")
_JOB_LOCK = "analytics:roster-import:"


def job_lock_key(job_id: uuid.UUID) -> int:
    """The key of a job's advisory lock (PostgreSQL), held by the connection that runs it."""
    return zlib.crc32((_JOB_LOCK + str(job_id)).encode())


class ImportJobRepository:
    """Roster import jobs and their uploads' pieces."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: RosterImportJob) -> None:
        """Store a new job."""
        self.session.add(job)
        await self.session.flush()

    async def add_chunk(self, job_id: uuid.UUID, part: int, seq: int, data: bytes) -> None:
        """Store one piece of an upload's part."""
        table: Any = RosterImportChunk.__table__
        await self.session.execute(table.insert(), {"job_id": job_id, "part": part, "seq": seq, "data": data})

    async def chunks(self, job_id: uuid.UUID, part: int, *, after: int, limit: int) -> Sequence[Any]:
        """(seq, data) of the next pieces of a part, in order."""
        c = RosterImportChunk
        stmt = (
            select(c.seq, c.data)
            .where(c.job_id == job_id, c.part == part, c.seq > after)
            .order_by(c.seq)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).all()

    async def get(self, district_id: str, job_id: uuid.UUID) -> RosterImportJob | None:
        """One job of the district."""
        job = await self.session.get(RosterImportJob, job_id, populate_existing=True)
        return job if job is not None and job.district_id == district_id else None

    async def any_unfinished(self) -> bool:
        """Whether some job waits or runs (a cheap look before claiming)."""
        stmt = select(RosterImportJob.id).where(RosterImportJob.state.in_(UNFINISHED)).limit(1)
        return await self.session.scalar(stmt) is not None

    async def candidates(self, job_id: uuid.UUID | None, *, limit: int = 10) -> Sequence[RosterImportJob]:
        """Unfinished jobs that are first in their district's line (oldest first), row-locked; rows
        another replica is claiming right now are skipped (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        j = RosterImportJob
        earlier = aliased(RosterImportJob)
        ahead = (
            select(earlier.id)
            .where(
                earlier.district_id == j.district_id,
                earlier.state.in_(UNFINISHED),
                (earlier.created_at < j.created_at)
                | ((earlier.created_at == j.created_at) & (earlier.id < j.id)),
            )
            .exists()
        )
        stmt = (
            select(j)
            .where(j.state.in_(UNFINISHED), ~ahead, *([j.id == job_id] if job_id is not None else []))
            .order_by(j.created_at, j.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=j)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).all()

    async def try_lock(self, job_id: uuid.UUID) -> bool:
        """Take the job's session-level lock on this connection (PostgreSQL): held while it runs, and
        released when the connection ends, so a job whose replica died can be claimed again."""
        return bool(await self.session.scalar(select(func.pg_try_advisory_lock(job_lock_key(job_id)))))

    async def unlock(self, job_id: uuid.UUID) -> None:
        """Release the job's session-level lock (PostgreSQL)."""
        await self.session.execute(select(func.pg_advisory_unlock(job_lock_key(job_id))))

    async def start(self, job: RosterImportJob, now: dt.datetime) -> None:
        """Mark a claimed job running (one more attempt)."""
        job.state = "running"
        job.attempts += 1
        job.started_at = job.started_at or now
        job.updated_at = now
        await self.session.flush()

    async def save_progress(self, job_id: uuid.UUID, attempt: int, progress: dict[str, Any]) -> None:
        """Record a running job's progress (unless another claim took it over since)."""
        await self.session.execute(
            update(RosterImportJob)
            .where(RosterImportJob.id == job_id, RosterImportJob.attempts == attempt)
            .values(progress=progress, updated_at=utcnow())
        )

    async def finish(
        self,
        job_id: uuid.UUID,
        attempt: int,
        *,
        state: str,
        progress: dict[str, Any],
        result: dict[str, Any] | None = None,
        failure: str | None = None,
    ) -> None:
        """Record how a job ended and drop its upload (unless another claim took it over since)."""
        now = utcnow()
        await self.session.execute(
            update(RosterImportJob)
            .where(RosterImportJob.id == job_id, RosterImportJob.attempts == attempt)
            .values(
                state=state,
                progress=progress,
                result=result,
                failure=failure,
                finished_at=now,
                updated_at=now,
            )
        )
        await self.session.execute(delete(RosterImportChunk).where(RosterImportChunk.job_id == job_id))

    async def purge(self, before: dt.datetime) -> int:
        """Forget jobs that finished before `before`; how many."""
        result: Any = await self.session.execute(
            delete(RosterImportJob).where(
                RosterImportJob.state.not_in(UNFINISHED), RosterImportJob.finished_at < before
            )
        )
        return int(result.rowcount or 0)
