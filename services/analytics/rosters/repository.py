"""Queries on the roster: bulk upserts and removals by sourcedId, academic sessions, derived attributes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import (
    RosterAcademicSession,
    RosterClass,
    RosterClassTerm,
    RosterEnrollment,
    RosterOrg,
    RosterUser,
    RosterUserAttribute,
    RosterUserGroup,
)
from shared.db import on_postgresql

RosterModel = (
    type[RosterOrg]
    | type[RosterAcademicSession]
    | type[RosterClass]
    | type[RosterUser]
    | type[RosterEnrollment]
)
_CHUNK = 300


class RosterRepository:
    """Roster tables of one session, scoped by district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect: Any = postgresql if on_postgresql(session) else sqlite

    async def upsert(self, model: RosterModel, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, updating those whose (district, sourcedId) exists."""
        table: Any = model.__table__
        for start in range(0, len(rows), _CHUNK):
            stmt = self.dialect.insert(table).values(list(rows[start : start + _CHUNK]))
            updates = {c: stmt.excluded[c] for c in rows[0] if c not in ("district_id", "sourced_id")}
            await self.session.execute(
                stmt.on_conflict_do_update(index_elements=["district_id", "sourced_id"], set_=updates)
            )

    async def delete(self, model: RosterModel, *, district_id: str, sourced_ids: Iterable[str]) -> int:
        """Remove rows by sourcedId (`tobedeleted`, or no longer listed in a bulk file); how many."""
        ids, removed = sorted(set(sourced_ids)), 0
        for start in range(0, len(ids), _CHUNK):
            result: Any = await self.session.execute(
                delete(model).where(
                    model.district_id == district_id, model.sourced_id.in_(ids[start : start + _CHUNK])
                )
            )
            removed += result.rowcount or 0
        return removed

    async def delete_enrollments_of(
        self, district_id: str, *, user_ids: Iterable[str], class_ids: Iterable[str]
    ) -> int:
        """Remove the enrollments of removed users and classes; how many."""
        removed = 0
        for column, values in ((RosterEnrollment.user_id, user_ids), (RosterEnrollment.class_id, class_ids)):
            ids = sorted(set(values))
            for start in range(0, len(ids), _CHUNK):
                result: Any = await self.session.execute(
                    delete(RosterEnrollment).where(
                        RosterEnrollment.district_id == district_id, column.in_(ids[start : start + _CHUNK])
                    )
                )
                removed += result.rowcount or 0
        return removed

    async def replace_class_terms(
        self, district_id: str, class_ids: Iterable[str], links: Iterable[tuple[str, str]]
    ) -> None:
        """Replace the (class, term) links of these classes (upserted or removed ones)."""
        ids = sorted(set(class_ids))
        for start in range(0, len(ids), _CHUNK):
            await self.session.execute(
                delete(RosterClassTerm).where(
                    RosterClassTerm.district_id == district_id,
                    RosterClassTerm.class_id.in_(ids[start : start + _CHUNK]),
                )
            )
        values = [{"district_id": district_id, "class_id": c, "term_id": t} for c, t in sorted(set(links))]
        table: Any = RosterClassTerm.__table__
        for start in range(0, len(values), 1000):
            await self.session.execute(table.insert(), values[start : start + 1000])

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

    async def existing_ids(self, model: RosterModel, *, district_id: str) -> set[str]:
        """Every sourcedId of one roster table of the district."""
        return set(
            (
                await self.session.scalars(select(model.sourced_id).where(model.district_id == district_id))
            ).all()
        )

    async def users(self, district_id: str) -> Sequence[Any]:
        """(sourced_id, school_id, grades) of every user."""
        return (
            await self.session.execute(
                select(RosterUser.sourced_id, RosterUser.school_id, RosterUser.grades).where(
                    RosterUser.district_id == district_id
                )
            )
        ).all()

    async def class_memberships(self, district_id: str) -> Sequence[Any]:
        """(user_id, school_id, grades, subjects) for every enrollment with its class."""
        stmt = (
            select(RosterEnrollment.user_id, RosterClass.school_id, RosterClass.grades, RosterClass.subjects)
            .join(
                RosterClass,
                (RosterClass.district_id == RosterEnrollment.district_id)
                & (RosterClass.sourced_id == RosterEnrollment.class_id),
            )
            .where(RosterEnrollment.district_id == district_id)
        )
        return (await self.session.execute(stmt)).all()

    async def replace_attributes(self, district_id: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Replace the district's derived (user, kind, value) attributes."""
        await self.session.execute(
            delete(RosterUserAttribute).where(RosterUserAttribute.district_id == district_id)
        )
        values = [{"district_id": district_id, "user_id": u, "kind": k, "value": v} for u, k, v in rows]
        table: Any = RosterUserAttribute.__table__
        for start in range(0, len(values), 1000):
            await self.session.execute(table.insert(), values[start : start + 1000])

    async def replace_groups(
        self, district_id: str, rows: Iterable[tuple[str, str, tuple[str, str, str]]]
    ) -> None:
        """Replace the district's derived (user, group set, (school, dim, value)) counter groups."""
        await self.session.execute(delete(RosterUserGroup).where(RosterUserGroup.district_id == district_id))
        values = [
            {"district_id": district_id, "user_id": u, "group_set": k, "school_id": s, "dim": d, "value": v}
            for u, k, (s, d, v) in rows
        ]
        table: Any = RosterUserGroup.__table__
        for start in range(0, len(values), 1000):
            await self.session.execute(table.insert(), values[start : start + 1000])
