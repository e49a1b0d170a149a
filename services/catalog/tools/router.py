"""HTTP routes for tools and their lifecycle."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.catalog.deps import CanChangeCatalog, CanProposeTools, Member, SettingsDep
from services.catalog.district_settings.service import effective_settings
from services.catalog.tools import service
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.schemas import (
    ToolCreate,
    ToolFilters,
    ToolRead,
    ToolTransitionRead,
    ToolUpdate,
    TransitionRequest,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/tools", tags=["tools"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ToolRead)
async def register_tool(body: ToolCreate, session: SessionDep, principal: CanProposeTools) -> ToolRead:
    """Register (or, as a specialist, propose) a tool in the district's catalog; it starts as `proposed`."""
    tool = await service.register_tool(
        session, district_id=principal.district_id, actor=principal.subject, data=body
    )
    return ToolRead.model_validate(tool)


@router.get("", response_model=Page[ToolRead])
async def list_tools(
    session: SessionDep, principal: Member, page: PageDep, filters: Annotated[ToolFilters, Query()]
) -> Page[ToolRead]:
    """List the district's tools, newest first; every filter is optional, `q` searches the text."""
    rows, total = await ToolRepository(session).list(
        district_id=principal.district_id, filters=filters, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ToolRead.model_validate(t) for t in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{tool_id}", response_model=ToolRead)
async def get_tool(tool_id: uuid.UUID, session: SessionDep, principal: Member) -> ToolRead:
    """One tool of the district."""
    return ToolRead.model_validate(
        await service.get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    )


@router.patch("/{tool_id}", response_model=ToolRead)
async def update_tool(
    tool_id: uuid.UUID,
    body: ToolUpdate,
    session: SessionDep,
    principal: CanChangeCatalog,
    settings: SettingsDep,
) -> ToolRead:
    """Change a tool's descriptive fields (not its status: use transitions)."""
    limits = await effective_settings(session, district_id=principal.district_id, defaults=settings)
    tool = await service.update_tool(
        session,
        district_id=principal.district_id,
        tool_id=tool_id,
        data=body,
        cost_limit=limits.cost_limit_per_student,
    )
    return ToolRead.model_validate(tool)


@router.post("/{tool_id}/transitions", response_model=ToolRead)
async def transition_tool(
    tool_id: uuid.UUID, body: TransitionRequest, session: SessionDep, principal: CanChangeCatalog
) -> ToolRead:
    """Move the tool in its lifecycle (409 naming the allowed statuses, or why a gate refuses)."""
    tool = await service.transition(
        session,
        district_id=principal.district_id,
        tool_id=tool_id,
        to_status=body.to_status,
        actor=principal.subject,
        reason=body.reason,
        override_reason=body.override_reason,
    )
    return ToolRead.model_validate(tool)


@router.get("/{tool_id}/history", response_model=list[ToolTransitionRead])
async def tool_history(
    tool_id: uuid.UUID, session: SessionDep, principal: Member
) -> list[ToolTransitionRead]:
    """The tool's lifecycle history, oldest first."""
    tool = await service.get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows = await ToolRepository(session).transitions(tool_id=tool.id)
    return [ToolTransitionRead.model_validate(r) for r in rows]
