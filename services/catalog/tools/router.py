"""HTTP routes for tools."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.catalog.tools import service
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.schemas import ToolCreate, ToolRead, ToolTransitionRead
from shared.api import Page, PageDep, PrincipalDep, SessionDep, require_roles
from shared.auth import Principal
from shared.events.contracts import ToolStatus

router = APIRouter(prefix="/tools", tags=["tools"])

CanChangeCatalog = Annotated[Principal, Depends(require_roles("edtech", "admin"))]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ToolRead)
async def register_tool(body: ToolCreate, session: SessionDep, principal: CanChangeCatalog) -> ToolRead:
    """Register a tool in the district's catalog (it starts as `proposed`)."""
    tool = await service.register_tool(session, district_id=principal.district_id, actor=principal.subject,
                                       data=body)
    return ToolRead.model_validate(tool)


@router.get("", response_model=Page[ToolRead])
async def list_tools(session: SessionDep, principal: PrincipalDep, page: PageDep,
                     status: ToolStatus | None = None) -> Page[ToolRead]:
    """List the district's tools, newest first."""
    rows, total = await ToolRepository(session).list(district_id=principal.district_id, status=status,
                                                     limit=page.limit, offset=page.offset)
    return Page(items=[ToolRead.model_validate(t) for t in rows], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/{tool_id}", response_model=ToolRead)
async def get_tool(tool_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ToolRead:
    """One tool of the district."""
    return ToolRead.model_validate(await service.get_tool(session, district_id=principal.district_id,
                                                          tool_id=tool_id))


@router.get("/{tool_id}/history", response_model=list[ToolTransitionRead])
async def tool_history(tool_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
                       ) -> list[ToolTransitionRead]:
    """The tool's lifecycle history, oldest first."""
    tool = await service.get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows = await ToolRepository(session).transitions(tool_id=tool.id)
    return [ToolTransitionRead.model_validate(r) for r in rows]
