"""Async database access chosen by URL: PostgreSQL (asyncpg) or SQLite (aiosqlite).

Each service owns one schema. On PostgreSQL that is a real schema; on SQLite the service's
file is ATTACHed under the schema's name, so the same schema-qualified tables and the same
Alembic history work on both.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, TypeDecorator, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from shared.clock import Clock
from shared.time_zones import local_date

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """A MetaData bound to one service's schema, with the project's naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def local_day(moment: str | dt.datetime | None, time_zone: str | None) -> str | None:
    """The date (`YYYY-MM-DD`) of a UTC moment in an IANA time zone (UTC when none is given): the SQL
    function `local_day(ts, tz)` of SQLite connections, as PostgreSQL's `(ts AT TIME ZONE tz)::date`."""
    if moment is None:
        return None
    at = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return local_date(at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at, time_zone).isoformat()


def new_id() -> uuid.UUID:
    """A new random identifier."""
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored with its zone and always read back as aware UTC (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON column: JSONB on PostgreSQL, JSON text on SQLite."""


CommitHook = Callable[[AsyncSession], None]


class Database:
    """One service's engine and session factory, schema-aware for both backends."""

    def __init__(
        self, url: str, schema: str, *, pool_size: int = 10, echo: bool = False, clock: Clock | None = None
    ):
        self.url = url
        self.clock = clock or Clock()
        self.schema = str(schema)
        self.is_sqlite = url.startswith("sqlite")
        self._commit_hooks: list[CommitHook] = []
        if self.is_sqlite:
            self.engine = self._sqlite_engine(url, schema, echo=echo, pool_size=pool_size)
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args={"server_settings": {"search_path": self.schema}},
            )
        # every session carries the clock, so rules and handlers read one "now" (`shared.clock`)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True, info={"clock": self.clock}
        )

    @staticmethod
    def _sqlite_engine(url: str, schema: str, *, echo: bool, pool_size: int) -> AsyncEngine:
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError("SQLite needs a file path, one file per service (sqlite+aiosqlite:///x.db)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            "sqlite+aiosqlite://",
            echo=echo,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"timeout": 30},
        )
        quoted = path.replace("'", "''")

        @event.listens_for(engine.sync_engine, "connect")
        def _attach(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute(f"ATTACH DATABASE '{quoted}' AS \"{schema}\"")
            cur.execute(f'PRAGMA "{schema}".journal_mode=WAL')
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            dbapi_conn.create_function("local_day", 2, local_day, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # pysqlite defers BEGIN until the first write; take the write lock up front so a
            # read-then-write transaction cannot deadlock against another writer.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def on_commit(self, hook: CommitHook) -> None:
        """Call `hook(session)` after every successful commit made through `transaction()`."""
        self._commit_hooks.append(hook)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            for hook in self._commit_hooks:
                hook(session)

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def insert_ignoring_conflicts(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, index_elements: Sequence[str]
) -> Any:
    """An INSERT that skips rows whose key already exists (ON CONFLICT DO NOTHING)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).values(list(rows)).on_conflict_do_nothing(index_elements=list(index_elements))


async def insert_many(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows (tuples in `columns` order) in the session's transaction, as fast as the
    database takes them: COPY on PostgreSQL, a batched INSERT on SQLite.

    COPY skips SQLAlchemy's per-row parameter processing (a few times faster for millions of rows),
    so the values go to the driver as they are: keep to text, numbers, booleans, dates and times.
    """
    if not rows:
        return
    if on_postgresql(session):
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            table.name, schema_name=table.schema, columns=list(columns), records=rows
        )
    else:
        await session.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def on_postgresql(session: AsyncSession) -> bool:
    """Whether the session is bound to PostgreSQL (rather than the embedded SQLite)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


_SHARED_LOCKS = text(
    "SELECT pg_advisory_xact_lock_shared(k) FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k"
)
_EXCLUSIVE_LOCKS = text(
    "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k"
)


def _lock_key(name: str) -> int:
    return zlib.crc32(name.encode())


async def advisory_lock(session: AsyncSession, *names: str, shared: bool = False) -> None:
    """Wait for transaction-scoped locks named `names` (shared or exclusive), taken in one fixed order.

    Writers that may run side by side take a name shared; work that must see none of them in flight
    takes it exclusively. On SQLite (one writer at a time) it is a no-op.
    """
    if not names or not on_postgresql(session):
        return
    keys = sorted({_lock_key(name) for name in names})
    await session.execute(_SHARED_LOCKS if shared else _EXCLUSIVE_LOCKS, {"keys": keys})


_SOME_LOCKS = text(
    "SELECT k.i FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS k(key, i) "
    "WHERE pg_try_advisory_xact_lock(k.key) LIMIT :want"
)


async def try_advisory_locks(session: AsyncSession, names: Sequence[str], *, want: int) -> list[int]:
    """Take up to `want` of these transaction-scoped locks, trying them in order and skipping those
    another holds, in one round trip; returns the positions in `names` of the locks taken.

    On SQLite (one process) the first `want` are always taken.
    """
    if not on_postgresql(session):
        return list(range(min(want, len(names))))
    rows = await session.execute(_SOME_LOCKS, {"keys": [_lock_key(n) for n in names], "want": want})
    return [int(i) - 1 for (i,) in rows]


async def try_advisory_lock(session: AsyncSession, name: str, *, shared: bool = False) -> bool:
    """Take a transaction-scoped lock named `name`, or return False at once if another holds it.

    Lets one replica of a service run a job (or relay) while the others stand by; `shared` lets
    writers side by side yield to one that holds the name exclusively. On SQLite (one process) it
    always succeeds.
    """
    if not on_postgresql(session):
        return True
    take = func.pg_try_advisory_xact_lock_shared if shared else func.pg_try_advisory_xact_lock
    return bool(await session.scalar(select(take(_lock_key(name)))))
