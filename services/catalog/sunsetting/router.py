"""HTTP routes for flags, removal candidates and retirements."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.catalog.deps import AnalyticsHttpDep, CanChangeCatalog, Member, SettingsDep
from services.catalog.district_settings.service import district_today, effective_settings
from services.catalog.sunsetting import service
from services.catalog.sunsetting.repository import SunsettingRepository
from services.catalog.sunsetting.schemas import (
    FlagCreate,
    FlagFilters,
    FlagRead,
    RetirementCancel,
    RetirementCreate,
    RetirementRead,
    RetirementRun,
)
from services.catalog.sunsetting.usage import teachers_using
from services.catalog.tools.service import get_tool
from shared.api import Page, PageDep, SessionDep
from shared.clock import clock_of
from shared.errors import ServiceUnavailable

router = APIRouter(tags=["sunsetting"])


@router.post("/tools/{tool_id}/flags", status_code=status.HTTP_201_CREATED, response_model=FlagRead)
async def flag_tool(
    tool_id: uuid.UUID, body: FlagCreate, session: SessionDep, principal: CanChangeCatalog
) -> FlagRead:
    """Flag the tool by hand for review or as a removal candidate."""
    return FlagRead.model_validate(
        await service.add_flag(
            session,
            district_id=principal.district_id,
            tool_id=tool_id,
            kind=body.kind,
            source="manual",
            actor=principal.subject,
            note=body.note,
        )
    )


@router.get("/tools/{tool_id}/flags", response_model=Page[FlagRead])
async def list_flags(
    tool_id: uuid.UUID, session: SessionDep, principal: Member, page: PageDep
) -> Page[FlagRead]:
    """The tool's flags (from events or by hand), newest first."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows, total = await SunsettingRepository(session).flags(
        district_id=principal.district_id, tool_id=tool.id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[FlagRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/flags", response_model=Page[FlagRead])
async def list_district_flags(
    session: SessionDep, principal: Member, page: PageDep, filters: Annotated[FlagFilters, Query()]
) -> Page[FlagRead]:
    """The district's flags over every tool (removal candidates and reviews, from events or by hand),
    newest first; `open=true` keeps the unresolved ones, `kind` and `tool_id` narrow further."""
    rows, total = await SunsettingRepository(session).district_flags(
        district_id=principal.district_id,
        open_only=filters.open,
        kind=filters.kind,
        tool_id=filters.tool_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[FlagRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/tools/{tool_id}/flags/{flag_id}/resolve", response_model=FlagRead)
async def resolve_flag(
    tool_id: uuid.UUID, flag_id: uuid.UUID, session: SessionDep, principal: CanChangeCatalog
) -> FlagRead:
    """Mark a flag resolved."""
    return FlagRead.model_validate(
        await service.resolve_flag(
            session, district_id=principal.district_id, tool_id=tool_id, flag_id=flag_id
        )
    )


@router.get("/sunsetting/candidates", response_model=Page[FlagRead])
async def removal_candidates(session: SessionDep, principal: Member, page: PageDep) -> Page[FlagRead]:
    """Open removal-candidate flags of the district, newest first."""
    rows, total = await SunsettingRepository(session).open_flags(
        district_id=principal.district_id, kind="removal_candidate", limit=page.limit, offset=page.offset
    )
    return Page(
        items=[FlagRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/tools/{tool_id}/retirement", status_code=status.HTTP_201_CREATED, response_model=RetirementRead
)
async def schedule_retirement(
    tool_id: uuid.UUID,
    body: RetirementCreate,
    session: SessionDep,
    principal: CanChangeCatalog,
    settings: SettingsDep,
    analytics: AnalyticsHttpDep,
) -> RetirementRead:
    """Schedule the retirement of an adopted tool: it moves to `sunsetting` for the notice period, and the
    teachers who used it (analytics' count of use) and any named are sent a notice."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    since = await district_today(session, district_id=principal.district_id) - dt.timedelta(
        days=settings.retirement_usage_days
    )
    named: dict[str, str | None] = dict.fromkeys(body.teacher_ids or [])

    async def recipients() -> dict[str, str | None]:
        """Who used the tool (analytics), and whoever is named; the named alone if analytics cannot say."""
        try:
            used = await teachers_using(analytics, principal=principal, tool_id=tool_id, since=since)
        except ServiceUnavailable:
            if not named:
                raise
            used = {}
        return {**named, **used}

    return RetirementRead.model_validate(
        await service.schedule_retirement(
            session,
            district_id=principal.district_id,
            tool_id=tool_id,
            actor=principal.subject,
            data=body,
            default_notice_days=limits.retirement_notice_days,
            find_recipients=recipients,
        )
    )


@router.post("/tools/{tool_id}/retirement/cancel", response_model=RetirementRead)
async def cancel_retirement(
    tool_id: uuid.UUID, session: SessionDep, principal: CanChangeCatalog, body: RetirementCancel | None = None
) -> RetirementRead:
    """Call off the tool's scheduled retirement: it goes back to `adopted` and its teachers are told."""
    return RetirementRead.model_validate(
        await service.cancel_retirement(
            session,
            district_id=principal.district_id,
            tool_id=tool_id,
            actor=principal.subject,
            reason=body.reason if body else None,
        )
    )


@router.get("/tools/{tool_id}/retirement", response_model=RetirementRead)
async def read_retirement(tool_id: uuid.UUID, session: SessionDep, principal: Member) -> RetirementRead:
    """The tool's latest retirement (404 if none was scheduled)."""
    return RetirementRead.model_validate(
        await service.latest_retirement(session, district_id=principal.district_id, tool_id=tool_id)
    )


@router.post("/sunsetting/run", response_model=RetirementRun)
async def run_retirements(session: SessionDep, principal: CanChangeCatalog) -> RetirementRun:
    """Retire now the district's tools whose notice has ended (the background job does this too)."""
    retired, cancelled = await service.retire_due(
        session, now=clock_of(session).now(), district_id=principal.district_id
    )
    return RetirementRun(
        retired=[RetirementRead.model_validate(r) for r in retired],
        cancelled=[RetirementRead.model_validate(r) for r in cancelled],
    )
