"""HTTP routes for teacher tool requests."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.catalog.deps import Member
from services.catalog.models import Tool, ToolRequest
from services.catalog.requests import service
from services.catalog.requests.repository import ToolRequestRepository
from services.catalog.requests.schemas import ToolRequestCreate, ToolRequestRead
from services.catalog.tools.schemas import ToolRead
from shared.api import Page, PageDep, SessionDep
from shared.auth import Principal
from shared.errors import NotFound

router = APIRouter(prefix="/requests", tags=["tool requests"])


def _read(request: ToolRequest, tool: Tool) -> ToolRequestRead:
    return ToolRequestRead(
        id=request.id,
        requested_by=request.requested_by,
        justification=request.justification,
        school_id=request.school_id,
        created_at=request.created_at,
        tool=ToolRead.model_validate(tool),
    )


def _only_own(principal: Principal) -> str | None:
    """Teachers (without a catalog role) see only their own requests."""
    return None if principal.has_any("edtech", "admin", "specialist") else principal.subject


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ToolRequestRead)
async def request_tool(body: ToolRequestCreate, session: SessionDep, principal: Member) -> ToolRequestRead:
    """Request a tool; it enters the catalog as `proposed`."""
    request, tool = await service.request_tool(
        session, district_id=principal.district_id, actor=principal.subject, data=body
    )
    return _read(request, tool)


@router.get("", response_model=Page[ToolRequestRead])
async def list_requests(session: SessionDep, principal: Member, page: PageDep) -> Page[ToolRequestRead]:
    """List tool requests, newest first (a teacher sees their own)."""
    rows, total = await ToolRequestRepository(session).list(
        district_id=principal.district_id,
        requested_by=_only_own(principal),
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[_read(r, t) for r, t in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{request_id}", response_model=ToolRequestRead)
async def get_request(request_id: uuid.UUID, session: SessionDep, principal: Member) -> ToolRequestRead:
    """One tool request (a teacher sees only their own)."""
    row = await ToolRequestRepository(session).get(
        district_id=principal.district_id, request_id=request_id, requested_by=_only_own(principal)
    )
    if row is None:
        raise NotFound(f"tool request {request_id} not found")
    return _read(*row)
