# ruff: noqa: S608  (statements are assembled from constants of `counting.rules`, never from input)
"""SQL of identity resolution: the roster's key index, unmatched actors, unrecognized activities."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, bindparam, delete, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from services.analytics.counting import rules
from services.analytics.identity.keys import roster_keys
from services.analytics.models import RosterIdentity, RosterUser, UnmatchedActor, UnrecognizedActivity
from shared.db import insert_many, on_postgresql

_CHUNK = 400
_PAGE = 5000
"""Users whose keys are computed at once when the index is rebuilt."""
_PAIRS = Table(
    "ri_identity_key",
    MetaData(),
    Column("id_key", String(320), nullable=False),
    Column("user_id", String(255), nullable=False),
    prefixes=["TEMPORARY"],
)
"""The (key, person) pairs of a roster while its index is rebuilt (a temporary table)."""
_MOVE_EVENTS = text(
    "UPDATE analytics.usage_event SET user_id = :u "
    "WHERE district_id = :d AND integration_id = :i AND user_id = :a"
)
_MOVE_PENDING = {
    dialect: text(
        f"UPDATE analytics.usage_pending SET user_id = :u, shard = {snippets['shard']} "
        "WHERE district_id = :d AND user_id = :a AND event_id IN ("
        "SELECT event_id FROM analytics.usage_event WHERE district_id = :d AND integration_id = :i "
        "AND user_id = :u)"
    )
    for dialect, snippets in rules.DIALECTS.items()
}

UnmatchedRow = tuple[str, uuid.UUID, str, list[str], int, dt.datetime]
"""(district, integration, actor_key, identifiers, events, seen_at)."""
UnrecognizedRow = tuple[uuid.UUID, str, str, int, dt.datetime]
"""(integration, name, district, events, seen_at)."""


class IdentityRepository:
    """Identity queries of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = on_postgresql(session)

    def _insert(self) -> Any:
        return postgresql.insert if self.postgres else sqlite.insert

    async def resolve(self, district_id: str, keys: Collection[str]) -> dict[str, str]:
        """The person each known key names, for the keys given."""
        found: dict[str, str] = {}
        ordered = sorted(keys)
        stmt = select(RosterIdentity.key, RosterIdentity.user_id).where(
            RosterIdentity.district_id == district_id,
            RosterIdentity.key.in_(bindparam("keys", expanding=True)),
        )
        for start in range(0, len(ordered), _CHUNK):
            rows = await self.session.execute(stmt, {"keys": ordered[start : start + _CHUNK]})
            found.update((k, u) for k, u in rows.all())
        return found

    async def reindex(self, district_id: str) -> int:
        """Rebuild the district's key index from its roster; returns how many keys it holds.

        A key two people share (two accounts with one email) names nobody and is left out. The roster
        is read a page of users at a time and its (key, person) pairs gather in a temporary table,
        so the memory this takes does not grow with the roster.
        """
        await self.session.execute(text(f"DROP TABLE IF EXISTS {_PAIRS.name}"))
        await self.session.execute(CreateTable(_PAIRS))
        after: str | None = None
        while True:
            page = (
                await self.session.execute(
                    select(
                        RosterUser.sourced_id,
                        RosterUser.identifier,
                        RosterUser.username,
                        RosterUser.email,
                        RosterUser.user_ids,
                    )
                    .where(
                        RosterUser.district_id == district_id,
                        *([RosterUser.sourced_id > after] if after is not None else []),
                    )
                    .order_by(RosterUser.sourced_id)
                    .limit(_PAGE)
                )
            ).all()
            if not page:
                break
            pairs = [
                (k, sourced_id)
                for sourced_id, identifier, username, email, user_ids in page
                for k in roster_keys(
                    sourced_id=sourced_id,
                    identifier=identifier,
                    username=username,
                    email=email,
                    user_ids=user_ids or [],
                )
            ]  # each pair once: a person's keys are distinct, and each person is on one page
            await insert_many(self.session, _PAIRS, ("id_key", "user_id"), pairs)
            after = page[-1][0]
        await self.session.execute(delete(RosterIdentity).where(RosterIdentity.district_id == district_id))
        # grouped in byte order on PostgreSQL: the same groups, without the locale's slower sort
        key = _PAIRS.c.id_key.collate("C") if self.postgres else _PAIRS.c.id_key
        owned = (
            select(literal(district_id, String(64)), key, func.min(_PAIRS.c.user_id))
            .group_by(key)
            .having(func.count() == 1)
        )
        table: Any = RosterIdentity.__table__
        result: Any = await self.session.execute(
            table.insert().from_select(["district_id", "key", "user_id"], owned)
        )
        await self.session.execute(text(f"DROP TABLE {_PAIRS.name}"))
        return int(result.rowcount or 0)

    async def record_unmatched(self, rows: Sequence[UnmatchedRow]) -> None:
        """Count events of actors nobody matched, per integration."""
        table: Any = UnmatchedActor.__table__
        for d, i, actor, identifiers, events, seen in sorted(rows, key=lambda r: (r[0], str(r[1]), r[2])):
            stmt = self._insert()(table).values(
                district_id=d,
                integration_id=i,
                actor_key=actor,
                identifiers=identifiers,
                events=events,
                first_seen=seen,
                last_seen=seen,
            )
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["district_id", "integration_id", "actor_key"],
                    set_={
                        "events": table.c.events + stmt.excluded.events,
                        "last_seen": stmt.excluded.last_seen,
                        "identifiers": stmt.excluded.identifiers,
                    },
                )
            )

    async def record_unrecognized(self, rows: Sequence[UnrecognizedRow]) -> None:
        """Count events whose verb, action or event name no vocabulary knows, per integration."""
        table: Any = UnrecognizedActivity.__table__
        for i, name, d, events, seen in sorted(rows, key=lambda r: (str(r[0]), r[1])):
            stmt = self._insert()(table).values(
                integration_id=i, name=name, district_id=d, events=events, last_seen=seen
            )
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["integration_id", "name"],
                    set_={
                        "events": table.c.events + stmt.excluded.events,
                        "last_seen": stmt.excluded.last_seen,
                    },
                )
            )

    async def unmatched(self, district_id: str) -> Sequence[UnmatchedActor]:
        """Every unmatched actor of a district."""
        rows = await self.session.scalars(
            select(UnmatchedActor).where(UnmatchedActor.district_id == district_id)
        )
        return rows.all()

    async def move(self, actor: UnmatchedActor, user_id: str) -> int:
        """Give an unmatched actor's events (stored and queued) to `user_id`; forget the actor."""
        params = {"u": user_id, "d": actor.district_id, "i": actor.integration_id, "a": actor.actor_key}
        moved: Any = await self.session.execute(_MOVE_EVENTS, params)
        dialect = "postgresql" if self.postgres else "sqlite"
        await self.session.execute(_MOVE_PENDING[dialect], params)
        await self.session.delete(actor)
        return int(moved.rowcount or 0)

    async def page_unmatched(
        self, *, district_id: str, integration_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[Sequence[UnmatchedActor], int]:
        """A page of an integration's unmatched actors, most events first."""
        where = (UnmatchedActor.district_id == district_id, UnmatchedActor.integration_id == integration_id)
        total = await self.session.scalar(select(func.count()).select_from(UnmatchedActor).where(*where))
        rows = await self.session.scalars(
            select(UnmatchedActor)
            .where(*where)
            .order_by(UnmatchedActor.events.desc(), UnmatchedActor.actor_key)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def page_unrecognized(
        self, *, district_id: str, integration_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[Sequence[UnrecognizedActivity], int]:
        """A page of an integration's unrecognized activities, most events first."""
        where = (
            UnrecognizedActivity.district_id == district_id,
            UnrecognizedActivity.integration_id == integration_id,
        )
        total = await self.session.scalar(
            select(func.count()).select_from(UnrecognizedActivity).where(*where)
        )
        rows = await self.session.scalars(
            select(UnrecognizedActivity)
            .where(*where)
            .order_by(UnrecognizedActivity.events.desc(), UnrecognizedActivity.name)
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)
