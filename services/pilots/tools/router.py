"""HTTP routes for the local tool copy (what pilots believes about each tool's status)."""

from __future__ import annotations

from fastapi import APIRouter

from services.pilots.api import Reader
from services.pilots.tools.repository import ToolRepository
from services.pilots.tools.schemas import ToolCopyRead
from shared.api import Page, PageDep, SessionDep
from shared.events.contracts import ToolStatus

router = APIRouter(prefix="/tools", tags=["tools"])


@router.get("", response_model=Page[ToolCopyRead])
async def list_tools(
    session: SessionDep, principal: Reader, page: PageDep, status: ToolStatus | None = None
) -> Page[ToolCopyRead]:
    """The district's tools as pilots knows them from catalog events, by name."""
    rows, total = await ToolRepository(session).page(
        district_id=principal.district_id, status=status, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ToolCopyRead.model_validate(t) for t in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
