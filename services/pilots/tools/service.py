"""Rules for the tool copy: apply catalog changes in order, and decide whether a tool may be piloted."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.pilots.models import Tool
from services.pilots.tools.repository import ToolRepository
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, ServiceUnavailable, Unprocessable
from shared.ownership import event_names_foreign_id, unknown_here

log = structlog.get_logger(__name__)

PILOTABLE = frozenset({"approved_for_pilot", "piloting"})
"""Statuses in which a tool may get a (further) pilot."""
IN_USE = frozenset({"piloting", "adopted", "sunsetting"})
"""Statuses in which a tool is in classrooms: its technical errors are reported."""


async def apply_status(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: uuid.UUID,
    name: str,
    status: str,
    at: dt.datetime,
    reason: str | None = None,
    only_if_new: bool = False,
) -> Tool | None:
    """Record that the tool had `status` at `at`; a change older than the one stored is ignored.

    With `only_if_new` (for `tool-registered`) a tool already known is left as it is. A tool id the
    copy holds for another district changes nothing and answers None (`shared.ownership`, rule 2).
    """
    repo = ToolRepository(session)
    tool = await repo.get(district_id=district_id, tool_id=tool_id, for_update=True)
    if tool is None:
        owners = await repo.districts_of(tool_id=tool_id)
        if not owners:
            return await repo.add(
                Tool(
                    id=tool_id,
                    district_id=district_id,
                    name=name,
                    status=status,
                    status_reason=reason,
                    updated_at=at,
                )
            )
        if event_names_foreign_id(owners, district_id=district_id, field="tool_id", value=tool_id):
            return None
        # this district's copy was committed meanwhile (an event consumed as a request confirms it)
        tool = await repo.get(district_id=district_id, tool_id=tool_id, for_update=True)
        assert tool is not None
    if only_if_new or at < tool.updated_at:
        return tool
    if reason is None and status == tool.status:
        reason = tool.status_reason  # a confirmation from the catalog (which gives no reason) keeps it
    tool.name, tool.status, tool.status_reason, tool.updated_at = name, status, reason, at
    await session.flush()
    return tool


def not_pilotable(tool: Tool, *, doing: str) -> Conflict:
    """The 409 refusing to `doing` a pilot of a tool the catalog has not (or no longer) approved for
    pilot, naming its status and the catalog's reason for it."""
    why = f" ({tool.status_reason})" if tool.status_reason else ""
    return Conflict(
        f"tool {tool.name!r} is {tool.status.replace('_', ' ')} in the catalog{why}; only a tool approved "
        f"for pilot (vetted on the six-point checklist) can be piloted, so the pilot cannot {doing}",
        slug="tool-not-approved",
        field="tool_id",
        tool_id=str(tool.id),
        tool_status=tool.status,
        reason=tool.status_reason,
    )


async def ensure_pilotable(
    session: AsyncSession, *, principal: Principal, tool_id: uuid.UUID, catalog: httpx.AsyncClient | None
) -> Tool:
    """The tool, if it may be piloted (409 `tool-not-approved` otherwise); see `ensure_status`."""
    return await ensure_status(
        session,
        principal=principal,
        tool_id=tool_id,
        catalog=catalog,
        allowed=PILOTABLE,
        refusal=lambda tool: not_pilotable(tool, doing="be planned"),
    )


async def ensure_in_use(
    session: AsyncSession, *, principal: Principal, tool_id: uuid.UUID, catalog: httpx.AsyncClient | None
) -> Tool:
    """The tool, if it is in classrooms (piloting, adopted or sunsetting): errors are reported for it."""
    return await ensure_status(
        session,
        principal=principal,
        tool_id=tool_id,
        catalog=catalog,
        allowed=IN_USE,
        refusal=lambda tool: Conflict(
            f"tool {tool.name!r} is {tool.status.replace('_', ' ')} in the catalog; errors are reported "
            "for a tool in use (piloting, adopted or sunsetting)",
            slug="tool-not-in-use",
            field="tool_id",
            tool_id=str(tool.id),
            tool_status=tool.status,
        ),
    )


async def ensure_status(
    session: AsyncSession,
    *,
    principal: Principal,
    tool_id: uuid.UUID,
    catalog: httpx.AsyncClient | None,
    allowed: frozenset[str],
    refusal: Callable[[Tool], Conflict],
) -> Tool:
    """The tool, if its status is one of `allowed`: the local copy first, then the catalog itself.

    Such a write needs a fact only the catalog has (the tool's status), so here an id the copy does not
    know is asked of the catalog as the caller, and refused when the catalog does not know it in the
    caller's district either: 422 naming `tool_id`, worded as `shared.ownership` words every unknown id.
    A known tool in another status is `refusal` (a 409); 503 only when the tool is unknown here and the
    catalog cannot be asked.
    """
    tool = await ToolRepository(session).get(district_id=principal.district_id, tool_id=tool_id)
    if tool is not None and tool.status in allowed:
        return tool
    if catalog is not None:
        try:
            confirmed = await _confirm_with_catalog(
                session, principal=principal, tool_id=tool_id, catalog=catalog
            )
        except ServiceUnavailable:
            if tool is None:
                raise
            confirmed = None  # the local copy's status answers
        if confirmed is not None:
            tool = confirmed
            if tool.status in allowed:
                return tool
    if tool is None:
        raise Unprocessable(unknown_here("tool", tool_id), field="tool_id", tool_id=str(tool_id))
    raise refusal(tool)


async def _confirm_with_catalog(
    session: AsyncSession, *, principal: Principal, tool_id: uuid.UUID, catalog: httpx.AsyncClient
) -> Tool | None:
    """Ask the catalog for the tool (as the caller) and refresh the local copy; None if unknown there."""
    try:
        response = await catalog.get(
            f"/api/catalog/tools/{tool_id}", headers={"Authorization": f"Bearer {principal.token}"}
        )
    except httpx.HTTPError as exc:
        log.warning("catalog_unreachable", tool_id=str(tool_id), error=repr(exc))
        raise ServiceUnavailable(
            "the catalog cannot be reached to confirm the tool's status; try again"
        ) from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        log.warning("catalog_refused", tool_id=str(tool_id), status=response.status_code)
        raise ServiceUnavailable(
            f"the catalog answered {response.status_code} when asked for the tool's status"
        )
    body = response.json()
    return await apply_status(
        session,
        district_id=principal.district_id,
        tool_id=tool_id,
        name=str(body.get("name") or tool_id),
        status=str(body["status"]),
        at=utcnow(),
    )
