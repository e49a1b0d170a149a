"""HTTP routes for standards alignment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from services.catalog.deps import CanChangeCatalog, Member
from services.catalog.standards import service
from services.catalog.standards.repository import StandardRepository
from services.catalog.standards.schemas import StandardAlignmentCreate, StandardAlignmentRead
from services.catalog.tools.service import get_tool
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/tools/{tool_id}/standards", tags=["standards"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=StandardAlignmentRead)
async def add_alignment(
    tool_id: uuid.UUID, body: StandardAlignmentCreate, session: SessionDep, principal: CanChangeCatalog
) -> StandardAlignmentRead:
    """Align the tool to a CCSS, NGSS or state standard."""
    row = await service.add_alignment(
        session, district_id=principal.district_id, tool_id=tool_id, actor=principal.subject, data=body
    )
    return StandardAlignmentRead.model_validate(row)


@router.get("", response_model=Page[StandardAlignmentRead])
async def list_alignments(
    tool_id: uuid.UUID, session: SessionDep, principal: Member, page: PageDep
) -> Page[StandardAlignmentRead]:
    """The standards the tool is aligned to."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows, total = await StandardRepository(session).list(
        tool_id=tool.id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[StandardAlignmentRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.delete("/{alignment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_alignment(
    tool_id: uuid.UUID, alignment_id: uuid.UUID, session: SessionDep, principal: CanChangeCatalog
) -> Response:
    """Remove one alignment."""
    await service.remove_alignment(
        session, district_id=principal.district_id, tool_id=tool_id, alignment_id=alignment_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
