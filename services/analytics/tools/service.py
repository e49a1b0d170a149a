"""The catalog tool copy: what consumed events store, and whose district a tool id is.

Analytics knows catalog tools only from `tool-registered` and `tool-status-changed`, stored in
`tool_info` per district. Every id written with a tool (an integration's binding, a license, a TAM
answer, a platform event's `tool_id`, a pilot cohort, an error count) goes through the one rule of
`shared.ownership`: refused when the copy places the tool in another district, accepted when the
copy places it here or does not know it yet.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.tools.repository import ToolRepository
from shared.db import Database
from shared.ownership import belongs_elsewhere, check_owned, event_names_foreign_id


async def check_tool(
    session: AsyncSession, *, district_id: str, tool_id: str | uuid.UUID, field: str = "tool_id"
) -> None:
    """Refuse (422 naming `field`) a tool the copy places in another district; unknown ones pass."""
    owners = (await ToolRepository(session).districts_of([str(tool_id)])).get(str(tool_id), set())
    check_owned(owners, district_id=district_id, value=tool_id, field=field, label="tool")


async def tool_of_another_district(
    session: AsyncSession, *, district_id: str, tool_id: str, **context: object
) -> bool:
    """True (and logged) when an event of `district_id` names a tool the copy holds for another one."""
    owners = (await ToolRepository(session).districts_of([tool_id])).get(tool_id, set())
    return event_names_foreign_id(owners, district_id=district_id, field="tool_id", value=tool_id, **context)


async def remember_tool(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: str,
    name: str,
    status: str,
    at: dt.datetime,
    **context: object,
) -> None:
    """Store a catalog tool's name and status (and, the first time it is `adopted`, the day: `at`'s
    UTC date) for its district (not over another district's copy)."""
    if await tool_of_another_district(session, district_id=district_id, tool_id=tool_id, **context):
        return
    await ToolRepository(session).upsert_tool(
        district_id=district_id,
        tool_id=tool_id,
        name=name,
        status=status,
        adopted_on=at.astimezone(dt.UTC).date() if status == "adopted" else None,
    )


async def count_error(
    session: AsyncSession, *, district_id: str, tool_id: str, day: dt.date, severity: str, **context: object
) -> None:
    """Add one error to a tool's day and severity (not to a tool of another district)."""
    if await tool_of_another_district(session, district_id=district_id, tool_id=tool_id, **context):
        return
    await ToolRepository(session).count_error(
        district_id=district_id, tool_id=tool_id, day=day, severity=severity
    )


class ToolDistricts:
    """Whose district each tool id is, for the webhook path, where a lookup per request would cost.

    A tool's district never changes, so an id the copy knows is remembered for the life of the
    process (up to `max_entries`, then forgotten all at once); an id it does not know yet is asked
    again next time, since its event may have arrived meanwhile.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._owners: dict[str, frozenset[str]] = {}

    async def foreign(self, db: Database, *, district_id: str, tool_ids: Collection[str]) -> set[str]:
        """The ids among `tool_ids` that the copy places in other districts only."""
        missing = [t for t in tool_ids if t not in self._owners]
        if missing:
            async with db.transaction() as session:
                found = await ToolRepository(session).districts_of(missing)
            if len(self._owners) + len(found) > self.max_entries:
                self._owners.clear()
            self._owners.update((t, frozenset(owners)) for t, owners in found.items())
        return {t for t in tool_ids if belongs_elsewhere(self._owners.get(t, frozenset()), district_id)}
