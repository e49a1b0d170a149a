"""Queries on an import's staging: temporary tables holding an upload's rows until they are applied.

One connection runs a whole import (`jobs.Pinned`), so its temporary tables live across the short
transactions in which the files are read, and go with the connection. Per roster table there is a
shadow (`ri_user` for `roster_user`, same columns, one row per sourcedId: the last accepted row
wins); `ri_key` holds the sourcedIds a file lists (bulk) or marks `tobedeleted`; `ri_removed` what
each file removes once read; `ri_class_term` and `ri_role` the classes' terms and users' roles.
Applying them is one statement per table, in the transaction that makes the import visible.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from services.analytics.models import (
    RosterAcademicSession,
    RosterClass,
    RosterClassTerm,
    RosterEnrollment,
    RosterOrg,
    RosterUser,
)
from services.analytics.rosters.repository import RosterModel
from shared.db import Database, on_postgresql

_TEMP = MetaData()
_LOOKUP = 500
"""Most ids in one IN list."""


def _shadow(model: RosterModel) -> Table:
    source: Any = model.__table__
    return Table(
        "ri_" + source.name.removeprefix("roster_"),
        _TEMP,
        *[Column(c.name, c.type, primary_key=c.name == "sourced_id") for c in source.columns],
        prefixes=["TEMPORARY"],
    )


_SHADOWS: dict[RosterModel, Table] = {
    model: _shadow(model)
    for model in (RosterOrg, RosterAcademicSession, RosterClass, RosterUser, RosterEnrollment)
}
_KEY = Table(
    "ri_key",
    _TEMP,
    Column("file", String(40), primary_key=True),
    Column("sourced_id", String(255), primary_key=True),
    Column("deleted", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)
_REMOVED = Table(
    "ri_removed",
    _TEMP,
    Column("file", String(40), primary_key=True),
    Column("sourced_id", String(255), primary_key=True),
    prefixes=["TEMPORARY"],
)
_CLASS_TERM = Table(
    "ri_class_term",
    _TEMP,
    Column("class_id", String(255), primary_key=True),
    Column("term_id", String(255), primary_key=True),
    prefixes=["TEMPORARY"],
)
_ROLE = Table(
    "ri_role",
    _TEMP,
    Column("user_id", String(255), primary_key=True),
    Column("role", String(255), nullable=False),
    Column("org_id", String(255), nullable=False),
    Column("is_primary", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)


class Staging:
    """The staging tables of the import running on this session's connection."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect: Any = postgresql if on_postgresql(session) else sqlite
        self.shadows = _SHADOWS

    def _tables(self) -> list[Table]:
        return [*self.shadows.values(), _KEY, _REMOVED, _CLASS_TERM, _ROLE]

    async def create(self) -> None:
        """Create the staging tables, empty (dropping any a failed import left on the connection)."""
        await self.drop()
        for table in self._tables():
            await self.session.execute(CreateTable(table))

    async def drop(self) -> None:
        """Drop the staging tables."""
        for table in self._tables():
            await self.session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))

    # -- while the files are read -----------------------------------------------------------

    async def put_rows(self, model: RosterModel, rows: Sequence[Mapping[str, Any]]) -> None:
        """Stage accepted rows (one per sourcedId: a later row of the file replaces an earlier one)."""
        if not rows:
            return
        table = self.shadows[model]
        stmt = self.dialect.insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "sourced_id"}
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["sourced_id"], set_=updates), list(rows)
        )

    async def put_keys(self, file: str, keys: Mapping[str, bool]) -> None:
        """Stage sourcedIds a file lists (True: marked `tobedeleted` by one of its rows)."""
        if not keys:
            return
        stmt = self.dialect.insert(_KEY)
        stmt = stmt.on_conflict_do_update(
            index_elements=["file", "sourced_id"],
            set_={"deleted": or_(_KEY.c.deleted, stmt.excluded.deleted)},
        )
        await self.session.execute(
            stmt, [{"file": file, "sourced_id": k, "deleted": d} for k, d in keys.items()]
        )

    async def put_class_terms(self, links: Collection[tuple[str, str]]) -> None:
        """Stage (class, term) links of accepted classes."""
        if links:
            stmt = self.dialect.insert(_CLASS_TERM).on_conflict_do_nothing()
            await self.session.execute(stmt, [{"class_id": c, "term_id": t} for c, t in sorted(links)])

    async def put_roles(self, roles: Mapping[str, tuple[str, str, bool]]) -> None:
        """Stage users' roles: a primary role replaces what is staged, another only fills a gap."""
        if not roles:
            return
        stmt = self.dialect.insert(_ROLE)
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"role": stmt.excluded.role, "org_id": stmt.excluded.org_id, "is_primary": true()},
            where=stmt.excluded.is_primary,
        )
        await self.session.execute(
            stmt,
            [{"user_id": u, "role": r, "org_id": o, "is_primary": p} for u, (r, o, p) in roles.items()],
        )

    async def roles_of(self, users: Collection[str]) -> dict[str, tuple[str, str]]:
        """The staged (role, org) of these users."""
        found: dict[str, tuple[str, str]] = {}
        for ids in _chunks(users):
            rows = await self.session.execute(
                select(_ROLE.c.user_id, _ROLE.c.role, _ROLE.c.org_id).where(_ROLE.c.user_id.in_(ids))
            )
            found.update((u, (r, o)) for u, r, o in rows.all())
        return found

    def _stored_not_removed(self, model: RosterModel, file: str, district_id: str) -> Any:
        target: Any = model.__table__
        return target.c.district_id == district_id, ~exists().where(
            _REMOVED.c.file == file, _REMOVED.c.sourced_id == target.c.sourced_id
        )

    async def known(
        self, model: RosterModel, file: str, *, district_id: str, ids: Collection[str]
    ) -> set[str]:
        """Which of `ids` the district holds once `file` is applied: staged, or stored and not removed."""
        target: Any = model.__table__
        shadow = self.shadows[model]
        found: set[str] = set()
        for chunk in _chunks(ids):
            stmt = union(
                select(shadow.c.sourced_id).where(shadow.c.sourced_id.in_(chunk)),
                select(target.c.sourced_id).where(
                    *self._stored_not_removed(model, file, district_id), target.c.sourced_id.in_(chunk)
                ),
            )
            found.update((await self.session.scalars(stmt)).all())
        return found

    async def holds_any(self, model: RosterModel, file: str, *, district_id: str) -> bool:
        """Whether the district holds any row of this table once `file` is applied."""
        shadow = self.shadows[model]
        if await self.session.scalar(select(shadow.c.sourced_id).limit(1)) is not None:
            return True
        return bool(
            await self.session.scalar(
                select(exists().where(*self._stored_not_removed(model, file, district_id)))
            )
        )

    async def forget(self, model: RosterModel | None, file: str) -> None:
        """Drop what a file staged (it turned out unreadable half way)."""
        if model is not None:
            await self.session.execute(delete(self.shadows[model]))
        await self.session.execute(delete(_KEY).where(_KEY.c.file == file))
        if file == "classes.csv":
            await self.session.execute(delete(_CLASS_TERM))
        if file == "roles.csv":
            await self.session.execute(delete(_ROLE))

    async def unlisted(self, model: RosterModel, file: str, *, district_id: str) -> int:
        """How many stored rows a file does not list."""
        target: Any = model.__table__
        stmt = select(func.count()).where(
            target.c.district_id == district_id,
            ~exists().where(_KEY.c.file == file, _KEY.c.sourced_id == target.c.sourced_id),
        )
        return int(await self.session.scalar(stmt) or 0)

    async def mark_removed(self, model: RosterModel, file: str, *, district_id: str, bulk: bool) -> None:
        """Record what a file removes: stored rows it marks `tobedeleted` and, when `bulk`, those it
        does not list; never a row it also upserts."""
        target: Any = model.__table__
        shadow = self.shadows[model]
        marked = exists().where(_KEY.c.file == file, _KEY.c.sourced_id == target.c.sourced_id, _KEY.c.deleted)
        gone: Any = marked
        if bulk:
            listed = exists().where(_KEY.c.file == file, _KEY.c.sourced_id == target.c.sourced_id)
            gone = or_(marked, ~listed)
        rows = select(literal(file, String(40)), target.c.sourced_id).where(
            target.c.district_id == district_id,
            ~exists().where(shadow.c.sourced_id == target.c.sourced_id),
            gone,
        )
        await self.session.execute(_REMOVED.insert().from_select(["file", "sourced_id"], rows))

    # -- when the import is applied ------------------------------------------------------------

    async def staged(self, model: RosterModel) -> int:
        """How many rows of a table are staged (the rows an import upserts)."""
        return int(await self.session.scalar(select(func.count()).select_from(self.shadows[model])) or 0)

    async def removing(self, file: str) -> int:
        """How many stored rows a file removes."""
        stmt = select(func.count()).select_from(_REMOVED).where(_REMOVED.c.file == file)
        return int(await self.session.scalar(stmt) or 0)

    async def upsert(self, model: RosterModel) -> None:
        """Write a table's staged rows over the stored ones (inserted, or updated by sourcedId)."""
        target: Any = model.__table__
        shadow = self.shadows[model]
        names = [c.name for c in target.columns]
        rows = select(*[shadow.c[n] for n in names]).where(true())  # WHERE: SQLite's upsert grammar
        stmt = self.dialect.insert(target).from_select(names, rows)
        updates = {n: stmt.excluded[n] for n in names if n not in ("district_id", "sourced_id")}
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["district_id", "sourced_id"], set_=updates)
        )

    def _removed_ids(self, file: str) -> Any:
        return select(_REMOVED.c.sourced_id).where(_REMOVED.c.file == file)

    async def remove(self, model: RosterModel, file: str, *, district_id: str) -> int:
        """Delete the stored rows a file removes; how many."""
        target: Any = model.__table__
        result: Any = await self.session.execute(
            delete(target).where(
                target.c.district_id == district_id, target.c.sourced_id.in_(self._removed_ids(file))
            )
        )
        return int(result.rowcount or 0)

    async def remove_enrollments_of(self, *, district_id: str, users: str, classes: str) -> int:
        """Delete the enrollments of the users and classes these files remove; how many."""
        removed = 0
        for column, file in ((RosterEnrollment.user_id, users), (RosterEnrollment.class_id, classes)):
            result: Any = await self.session.execute(
                delete(RosterEnrollment).where(
                    RosterEnrollment.district_id == district_id, column.in_(self._removed_ids(file))
                )
            )
            removed += int(result.rowcount or 0)
        return removed

    async def replace_class_terms(self, model: RosterModel, file: str, *, district_id: str) -> None:
        """Replace the term links of the classes staged or removed by the staged ones."""
        shadow = self.shadows[model]
        touched = or_(
            RosterClassTerm.class_id.in_(select(shadow.c.sourced_id)),
            RosterClassTerm.class_id.in_(self._removed_ids(file)),
        )
        await self.session.execute(
            delete(RosterClassTerm).where(and_(RosterClassTerm.district_id == district_id, touched))
        )
        links = select(literal(district_id, String(64)), _CLASS_TERM.c.class_id, _CLASS_TERM.c.term_id)
        table: Any = RosterClassTerm.__table__
        await self.session.execute(table.insert().from_select(["district_id", "class_id", "term_id"], links))


def _chunks(ids: Collection[str]) -> list[list[str]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + _LOOKUP] for i in range(0, len(ordered), _LOOKUP)]


class Unit(Protocol):
    """Where an import runs: one connection, a short transaction per step (`Pinned`)."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session in one transaction on the import's connection."""
        ...


class Pinned:
    """One connection held for a whole import, a transaction per step (its temporary tables stay)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The connection's session in a transaction of its own: committed, or rolled back on error."""
        try:
            yield self.session
            await self.session.commit()
        except BaseException:
            await self.session.rollback()
            raise


@asynccontextmanager
async def pinned(db: Database) -> AsyncIterator[Pinned]:
    """A connection of `db` held for one import; closed for good afterwards, so that its temporary
    tables and session-level locks go with it whatever happened."""
    conn = await db.engine.connect()
    try:
        async with AsyncSession(bind=conn, expire_on_commit=False) as session:
            yield Pinned(session)
    finally:
        await conn.invalidate()
        await conn.close()
