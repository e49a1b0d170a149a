"""HTTP routes for rubrics and evaluations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.catalog.deps import CanChangeCatalog, Member
from services.catalog.rubrics import service
from services.catalog.rubrics.repository import RubricRepository
from services.catalog.rubrics.schemas import (
    Comparison,
    ComparisonRow,
    EvaluationCreate,
    EvaluationRead,
    RubricCreate,
    RubricRead,
)
from services.catalog.tools.service import get_tool
from shared.api import Page, PageDep, SessionDep

router = APIRouter(tags=["rubrics"])


@router.post("/rubrics", status_code=status.HTTP_201_CREATED, response_model=RubricRead)
async def create_rubric(body: RubricCreate, session: SessionDep, principal: CanChangeCatalog) -> RubricRead:
    """Define a rubric of weighted criteria tied to learning objectives."""
    return RubricRead.model_validate(
        await service.create_rubric(
            session, district_id=principal.district_id, actor=principal.subject, data=body
        )
    )


@router.get("/rubrics", response_model=Page[RubricRead])
async def list_rubrics(session: SessionDep, principal: Member, page: PageDep) -> Page[RubricRead]:
    """List the district's rubrics."""
    rows, total = await RubricRepository(session).list(
        district_id=principal.district_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[RubricRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/rubrics/{rubric_id}", response_model=RubricRead)
async def get_rubric(rubric_id: uuid.UUID, session: SessionDep, principal: Member) -> RubricRead:
    """One rubric of the district."""
    return RubricRead.model_validate(
        await service.get_rubric(session, district_id=principal.district_id, rubric_id=rubric_id)
    )


@router.get("/rubrics/{rubric_id}/comparison", response_model=Comparison)
async def compare(
    rubric_id: uuid.UUID,
    session: SessionDep,
    principal: Member,
    tool_id: Annotated[list[uuid.UUID] | None, Query()] = None,
) -> Comparison:
    """Evaluations against the rubric side by side (only of the given `tool_id`s, if any)."""
    rubric = await service.get_rubric(session, district_id=principal.district_id, rubric_id=rubric_id)
    rows = await RubricRepository(session).comparison(
        district_id=principal.district_id, rubric_id=rubric.id, tool_ids=tool_id or []
    )
    return Comparison(
        rubric=RubricRead.model_validate(rubric),
        rows=[ComparisonRow(evaluation=service.to_read(e), tool_name=n) for e, n in rows],
    )


@router.post(
    "/tools/{tool_id}/evaluations", status_code=status.HTTP_201_CREATED, response_model=EvaluationRead
)
async def evaluate_tool(
    tool_id: uuid.UUID, body: EvaluationCreate, session: SessionDep, principal: CanChangeCatalog
) -> EvaluationRead:
    """Score the tool against a rubric, with its PICRAT cell and SAMR level."""
    return service.to_read(
        await service.evaluate(
            session,
            district_id=principal.district_id,
            tool_id=tool_id,
            evaluator=principal.subject,
            data=body,
        )
    )


@router.get("/tools/{tool_id}/evaluations", response_model=Page[EvaluationRead])
async def list_evaluations(
    tool_id: uuid.UUID, session: SessionDep, principal: Member, page: PageDep
) -> Page[EvaluationRead]:
    """The tool's evaluations, newest first."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    rows, total = await RubricRepository(session).evaluations(
        district_id=principal.district_id, tool_id=tool.id, limit=page.limit, offset=page.offset
    )
    return Page(items=[service.to_read(e) for e in rows], total=total, limit=page.limit, offset=page.offset)
