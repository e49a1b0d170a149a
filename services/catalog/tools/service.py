"""Business rules for tools: registration, updates and the guarded lifecycle state machine.

Gates (checked after the state machine allows the move):

* `approved_for_pilot` needs (1) at least one standards alignment, (2) the privacy point recorded as
  `pass`, and (3) no checklist point recorded as `fail`. Points still `pending` (or never recorded)
  other than privacy do not block: the pilot is where they get tested. (3) alone may be overridden by
  an explicit `override_reason`, which is stored with the transition; (1) and (2) never can.
* `piloting` and `adopted` are refused while the privacy point is `fail`: a tool that fails data
  privacy can never be piloted or adopted.

A tool moved from `sunsetting` back to `adopted` has its scheduled retirement cancelled in the same
transaction (`sunsetting.service.cancel_scheduled`).

A privacy failure recorded on a tool already `approved_for_pilot` sends it back to `vetting`
(`checklist.service`), so pilots, which follow the catalog's `tool-status-changed` events, refuse it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.checklist.repository import ChecklistRepository
from services.catalog.events import outbox
from services.catalog.models import Tool, ToolTransition
from services.catalog.standards.repository import StandardRepository
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.schemas import ToolCreate, ToolUpdate
from services.catalog.vendors.repository import VendorRepository
from shared.clock import clock_of
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import ToolRegistered, ToolStatusChanged
from shared.lifecycle import Lifecycle

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"vetting", "rejected"}),
    "vetting": frozenset({"approved_for_pilot", "rejected"}),
    "approved_for_pilot": frozenset({"piloting", "rejected", "vetting"}),  # the last: privacy failed
    "piloting": frozenset({"adopted", "rejected", "approved_for_pilot"}),  # the last: pilots called off
    "adopted": frozenset({"sunsetting"}),
    "sunsetting": frozenset({"retired", "adopted"}),
    "retired": frozenset(),
    "rejected": frozenset(),
}
LIFECYCLE = Lifecycle("tool", TRANSITIONS)

PRIVACY_BLOCKED = frozenset({"approved_for_pilot", "piloting", "adopted"})


async def _vendor_name(session: AsyncSession, *, district_id: str, vendor_id: uuid.UUID) -> str:
    vendor = await VendorRepository(session).get(district_id=district_id, vendor_id=vendor_id)
    if vendor is None:
        raise Unprocessable(f"vendor {vendor_id} does not exist in this district", field="vendor_id")
    return vendor.name


async def register_tool(
    session: AsyncSession, *, district_id: str, actor: str, data: ToolCreate, reason: str = "registered"
) -> Tool:
    """Register a tool as `proposed` and publish `tool-registered`."""
    repo = ToolRepository(session)
    values = data.model_dump()
    if data.vendor_id is not None:
        values["vendor"] = await _vendor_name(session, district_id=district_id, vendor_id=data.vendor_id)
    tool = await repo.add(
        Tool(district_id=district_id, status="proposed", checklist_state="pending", **values)
    )
    await repo.add_transition(
        ToolTransition(
            district_id=district_id,
            tool_id=tool.id,
            from_status=None,
            to_status="proposed",
            actor=actor,
            reason=reason,
            at=clock_of(session).now(),
        )
    )
    await outbox.add(
        session,
        ToolRegistered(
            tool_id=tool.id,
            tool_name=tool.name,
            vendor=tool.vendor,
            category=tool.category,
            status="proposed",
            subjects=tool.subjects,
            grade_bands=tool.grade_bands,
        ),
        district_id=district_id,
    )
    return tool


async def get_tool(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, for_update: bool = False
) -> Tool:
    """A district's tool; 404 if it does not exist there."""
    tool = await ToolRepository(session).get(district_id=district_id, tool_id=tool_id, for_update=for_update)
    if tool is None:
        raise NotFound(f"tool {tool_id} not found")
    return tool


async def update_tool(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, data: ToolUpdate, cost_limit: float
) -> Tool:
    """Change a tool's descriptive fields; a change of usage re-evaluates the computed cost point."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id, for_update=True)
    values = data.model_dump(exclude_unset=True)
    for name in ("name", "usage", "smartphone_support", "subjects", "grade_bands", "platforms"):
        if name in values and values[name] is None:
            raise Unprocessable(f"{name} cannot be null", field=name)
    if values.get("vendor_id") is not None:
        values["vendor"] = await _vendor_name(session, district_id=district_id, vendor_id=values["vendor_id"])
    usage_changed = "usage" in values and values["usage"] != tool.usage
    for name, value in values.items():
        setattr(tool, name, value)
    await session.flush()
    if usage_changed:
        from services.catalog.checklist.service import recompute_cost_point

        await recompute_cost_point(session, tool=tool, limit=cost_limit)
    return tool


async def _check_privacy(session: AsyncSession, *, tool: Tool, to_status: str) -> None:
    """Refuse (409 `privacy-failure`) any move toward classrooms while the privacy point is `fail`; checked
    before the state machine, so the refusal names the privacy failure whatever the tool's status."""
    if to_status not in PRIVACY_BLOCKED:
        return
    privacy = (await ChecklistRepository(session).by_point(tool_id=tool.id)).get("privacy")
    if privacy is not None and privacy.result == "fail":
        why = f" ({privacy.evidence})" if privacy.evidence else ""
        raise Conflict(
            f"{tool.name} failed the data privacy point (FERPA/COPPA){why}: a tool that fails privacy can "
            f"never be piloted or adopted, so it cannot move to {to_status}",
            slug="privacy-failure",
            blocking=["privacy"],
            current_status=tool.status,
        )


async def _check_gates(
    session: AsyncSession, *, tool: Tool, to_status: str, override_reason: str | None
) -> None:
    if to_status != "approved_for_pilot":
        return
    items = await ChecklistRepository(session).by_point(tool_id=tool.id)
    privacy = items.get("privacy")
    blocking = []
    if privacy is None or privacy.result != "pass":
        blocking.append("privacy has not passed yet (data privacy must pass before any pilot)")
    if await StandardRepository(session).count(tool_id=tool.id) == 0:
        blocking.append("no standards alignment: map the tool to CCSS, NGSS or state standards first")
    failed = sorted(p for p, item in items.items() if item.result == "fail")
    if failed and not override_reason:
        blocking.append(
            f"checklist points failed: {', '.join(failed)} (give override_reason to proceed anyway)"
        )
    if blocking:
        raise Conflict(
            f"{tool.name} cannot be approved for a pilot: " + "; ".join(blocking),
            slug="pilot-gate",
            blocking=blocking,
            current_status=tool.status,
        )


async def transition(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: uuid.UUID,
    to_status: str,
    actor: str,
    reason: str | None,
    override_reason: str | None = None,
) -> Tool:
    """Move a tool in its lifecycle if the state machine and the gates allow it; record and publish it."""
    repo = ToolRepository(session)
    tool = await repo.get(district_id=district_id, tool_id=tool_id, for_update=True)
    if tool is None:
        raise NotFound(f"tool {tool_id} not found")
    await _check_privacy(session, tool=tool, to_status=to_status)
    LIFECYCLE.check(tool.status, to_status)
    await _check_gates(session, tool=tool, to_status=to_status, override_reason=override_reason)
    from_status, tool.status = tool.status, to_status
    now = clock_of(session).now()
    await repo.add_transition(
        ToolTransition(
            district_id=district_id,
            tool_id=tool.id,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            override_reason=override_reason,
            at=now,
        )
    )
    await outbox.add(
        session,
        ToolStatusChanged(
            tool_id=tool.id,
            tool_name=tool.name,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=actor,
            changed_at=now,
        ),
        district_id=district_id,
    )
    if (from_status, to_status) == ("sunsetting", "adopted"):
        from services.catalog.sunsetting.service import cancel_scheduled

        await cancel_scheduled(session, tool=tool, actor=actor, reason=reason)
    return tool
