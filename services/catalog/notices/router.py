"""HTTP route for retirement notices."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.catalog.deps import Member
from services.catalog.notices.repository import NoticeRepository
from services.catalog.notices.schemas import NoticeRead
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/notices", tags=["sunsetting"])


@router.get("", response_model=Page[NoticeRead])
async def list_notices(
    session: SessionDep,
    principal: Member,
    page: PageDep,
    teacher_id: str | None = None,
    tool_id: uuid.UUID | None = None,
) -> Page[NoticeRead]:
    """Retirement notices, newest first: a teacher's own; staff see the district's (`teacher_id` narrows)."""
    if not principal.has_any("edtech", "admin", "specialist"):
        teacher_id = principal.subject
    rows, total = await NoticeRepository(session).page(
        district_id=principal.district_id,
        teacher_id=teacher_id,
        tool_id=tool_id,
        limit=page.limit,
        offset=page.offset,
    )
    items = [
        NoticeRead(
            id=n.id,
            tool_id=n.tool_id,
            tool_name=t.name,
            retirement_id=n.retirement_id,
            teacher_id=n.teacher_id,
            kind=n.kind,
            subject=n.subject,
            body=n.body,
            notice_ends_at=r.notice_ends_at,
            archive_location=r.archive_location,
            status=n.status,
            email=n.email,
            created_at=n.created_at,
            sent_at=n.sent_at,
        )
        for n, r, t in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
