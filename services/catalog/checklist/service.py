"""Rules of the six-point checklist.

* `pass` or `fail` needs evidence (a note or a link); the evidence point's `pass` needs its ESSA tier
  (1-4), and only the evidence point takes a tier.
* The cost point is computed from the tool's license when it has one (the license whose term ends
  last): supplemental tools pass when the cost per student per year is under the district's limit
  ("under $5", DOMAIN.md: exactly $5.00 fails); core tools pass (the limit is for supplemental tools).
  Without a license it is recorded by hand.
* The privacy point passes only with a signed data privacy agreement on record (DOMAIN.md: "signed
  data privacy agreement"): the tool's vendor is one of the district's vendors with `dpa_signed`.
* The tool's `checklist_state` is `failed` if any point failed, `passed` if all six passed, else
  `pending`.
* A privacy failure takes effect at once ("a tool that fails point 1 can never be piloted"): a tool
  `approved_for_pilot` goes back to `vetting` (a recorded transition with its `tool-status-changed`
  event, which pilots follow); a tool already piloting, adopted or sunsetting is flagged for review.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.checklist.repository import ChecklistRepository
from services.catalog.checklist.schemas import (
    LABELS,
    POINTS,
    ChecklistPointRead,
    ChecklistPointUpdate,
    ChecklistRead,
)
from services.catalog.licenses.costs import cost_per_student_per_year
from services.catalog.licenses.repository import LicenseRepository
from services.catalog.models import ChecklistItem, Tool
from services.catalog.sunsetting.service import add_flag
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.service import get_tool, transition
from services.catalog.vendors.repository import VendorRepository
from shared.db import utcnow
from shared.errors import Conflict, Unprocessable

SYSTEM_REVIEWER = "catalog:license"
IN_USE = frozenset({"piloting", "adopted", "sunsetting"})


def overall_state(items: dict[str, ChecklistItem]) -> str:
    """`failed` if any point failed, `passed` if all six passed, otherwise `pending`."""
    results = [items[p].result if p in items else "pending" for p in POINTS]
    if "fail" in results:
        return "failed"
    return "passed" if all(r == "pass" for r in results) else "pending"


async def _refresh_state(session: AsyncSession, *, tool: Tool) -> dict[str, ChecklistItem]:
    items = await ChecklistRepository(session).by_point(tool_id=tool.id)
    tool.checklist_state = overall_state(items)
    await session.flush()
    return items


async def _upsert(session: AsyncSession, *, tool: Tool, point: str, **values: object) -> ChecklistItem:
    repo = ChecklistRepository(session)
    item = (await repo.by_point(tool_id=tool.id)).get(point)
    if item is None:
        item = await repo.add(
            ChecklistItem(district_id=tool.district_id, tool_id=tool.id, point=point, **values)
        )
    else:
        for name, value in values.items():
            setattr(item, name, value)
    await session.flush()
    return item


async def record_point(
    session: AsyncSession,
    *,
    district_id: str,
    tool_id: uuid.UUID,
    point: str,
    reviewer: str,
    data: ChecklistPointUpdate,
) -> ChecklistItem:
    """Record one point's result and evidence, with the reviewer and the time."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id, for_update=True)
    if point == "cost":
        license_ = await LicenseRepository(session).current_for_tool(tool_id=tool.id)
        if license_ is not None:
            raise Conflict(
                f"the cost point of {tool.name} is computed from license {license_.id}; "
                "change the license to change it",
                license_id=str(license_.id),
            )
    if data.essa_tier is not None and point != "evidence":
        raise Unprocessable("only the evidence point records an ESSA tier", field="essa_tier")
    if point == "evidence" and data.result == "pass" and data.essa_tier is None:
        raise Unprocessable("a passed evidence point needs its ESSA tier (1-4)", field="essa_tier")
    if data.result != "pending" and not (data.evidence or data.evidence_url):
        raise Unprocessable(f"a {data.result} result needs evidence: a note or a link", field="evidence")
    if point == "privacy" and data.result == "pass":
        await _require_signed_dpa(session, tool=tool)
    item = await _upsert(
        session,
        tool=tool,
        point=point,
        result=data.result,
        evidence=data.evidence,
        evidence_url=data.evidence_url,
        essa_tier=data.essa_tier,
        details={},
        reviewer=reviewer,
        reviewed_at=utcnow(),
    )
    await _refresh_state(session, tool=tool)
    if point == "privacy" and data.result == "fail":
        await _privacy_failed(session, tool=tool, reviewer=reviewer, item=item)
    return item


async def _require_signed_dpa(session: AsyncSession, *, tool: Tool) -> None:
    """Refuse (409 `dpa-missing`) a privacy pass without a signed data privacy agreement on record."""
    vendor = (
        await VendorRepository(session).get(district_id=tool.district_id, vendor_id=tool.vendor_id)
        if tool.vendor_id is not None
        else None
    )
    if vendor is not None and vendor.dpa_signed:
        return
    why = (
        f"its vendor {vendor.name} has no signed data privacy agreement on record (set dpa_signed)"
        if vendor is not None
        else "it names no vendor of the district (vendor_id), whose signed agreement would be on record"
    )
    raise Conflict(
        f"the privacy point of {tool.name} cannot pass without a signed data privacy agreement: {why}",
        slug="dpa-missing",
        field="result",
        vendor_id=str(tool.vendor_id) if tool.vendor_id else None,
    )


async def _privacy_failed(session: AsyncSession, *, tool: Tool, reviewer: str, item: ChecklistItem) -> None:
    """Withdraw a tool approved for pilot; flag one already in classrooms for immediate review."""
    why = f"failed the data privacy point (FERPA/COPPA): {item.evidence or item.evidence_url}"
    if tool.status == "approved_for_pilot":
        await transition(
            session,
            district_id=tool.district_id,
            tool_id=tool.id,
            to_status="vetting",
            actor=reviewer,
            reason=f"{why}; a tool that fails privacy can never be piloted",
        )
    elif tool.status in IN_USE:
        await add_flag(
            session,
            district_id=tool.district_id,
            tool_id=tool.id,
            kind="review",
            source="privacy_failed",
            actor=reviewer,
            note=f"{why}, while {tool.status}: immediate review",
            data={"point": "privacy", "evidence": item.evidence, "evidence_url": item.evidence_url},
        )


async def read_checklist(session: AsyncSession, *, district_id: str, tool_id: uuid.UUID) -> ChecklistRead:
    """All six points of a tool in their order, with the overall state."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    items = await ChecklistRepository(session).by_point(tool_id=tool.id)
    points = []
    for point in POINTS:
        item = items.get(point)
        if item is None:
            points.append(ChecklistPointRead(point=point, label=LABELS[point], result="pending"))
            continue
        points.append(
            ChecklistPointRead(
                point=point,
                label=LABELS[point],
                result=item.result,
                evidence=item.evidence,
                evidence_url=item.evidence_url,
                essa_tier=item.essa_tier,
                computed=item.reviewer == SYSTEM_REVIEWER,
                details=item.details or {},
                reviewer=item.reviewer,
                reviewed_at=item.reviewed_at,
            )
        )
    return ChecklistRead(tool_id=tool.id, state=overall_state(items), points=points)


async def recompute_cost_point(session: AsyncSession, *, tool: Tool, limit: float) -> None:
    """Set the cost point from the tool's license (no license: the hand-recorded point stays)."""
    license_ = await LicenseRepository(session).current_for_tool(tool_id=tool.id)
    if license_ is None:
        return
    cost = cost_per_student_per_year(
        license_.price_total,
        license_.seats,
        license_.students_covered,
        license_.term_start,
        license_.term_end,
    )
    if tool.usage == "supplemental":
        result = "pass" if cost < limit else "fail"
        relation = "under" if cost < limit else "at (it must be under)" if cost == limit else "over"
        evidence = f"${cost:.2f} per student per year, {relation} the district limit of ${limit:.2f}"
    else:
        result = "pass"
        evidence = (
            f"${cost:.2f} per student per year; core tool, the per-student limit applies to supplemental"
        )
    await _upsert(
        session,
        tool=tool,
        point="cost",
        result=result,
        evidence=evidence,
        evidence_url=None,
        essa_tier=None,
        reviewer=SYSTEM_REVIEWER,
        reviewed_at=utcnow(),
        details={
            "license_id": str(license_.id),
            "cost_per_student_per_year": cost,
            "limit": limit,
            "usage": tool.usage,
        },
    )
    await _refresh_state(session, tool=tool)


async def recompute_cost_points(session: AsyncSession, *, district_id: str, limit: float) -> None:
    """Re-evaluate the computed cost point of every licensed tool of a district (after a limit change)."""
    tools = await ToolRepository(session).get_many(
        district_id=district_id,
        tool_ids=await LicenseRepository(session).tool_ids_with_licenses(district_id=district_id),
    )
    for tool in tools:
        await recompute_cost_point(session, tool=tool, limit=limit)
