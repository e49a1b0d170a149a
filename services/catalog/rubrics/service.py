"""Rules for rubrics and evaluations: one score per criterion within the scale; weighted totals."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Evaluation, Rubric
from services.catalog.rubrics.repository import RubricRepository
from services.catalog.rubrics.schemas import EvaluationCreate, EvaluationRead, RubricCreate
from services.catalog.tools.service import get_tool
from shared.errors import Conflict, NotFound, Unprocessable


def weighted_total(criteria: list[dict[str, Any]], scores: dict[str, float]) -> float:
    """Sum of weight x score over the sum of weights: a score on the rubric's scale."""
    total_weight = sum(float(c["weight"]) for c in criteria)
    return sum(float(c["weight"]) * scores[str(c["key"])] for c in criteria) / total_weight


def to_read(evaluation: Evaluation) -> EvaluationRead:
    """An evaluation as returned by the API, with its PICRAT cell (e.g. `interactive/amplification`)."""
    read = EvaluationRead.model_validate(evaluation)
    read.picrat = f"{evaluation.picrat_student}/{evaluation.picrat_teacher}"
    return read


async def create_rubric(session: AsyncSession, *, district_id: str, actor: str, data: RubricCreate) -> Rubric:
    """Define a rubric (409 if the district has one of that name)."""
    repo = RubricRepository(session)
    if await repo.by_name(district_id=district_id, name=data.name):
        raise Conflict(f"a rubric named {data.name!r} already exists", field="name")
    rubric = Rubric(
        district_id=district_id,
        name=data.name,
        description=data.description,
        scale_max=data.scale_max,
        criteria=[c.model_dump() for c in data.criteria],
        created_by=actor,
    )
    await repo.add(rubric)
    return rubric


async def get_rubric(session: AsyncSession, *, district_id: str, rubric_id: uuid.UUID) -> Rubric:
    """A district's rubric; 404 otherwise."""
    rubric = await RubricRepository(session).get(district_id=district_id, rubric_id=rubric_id)
    if rubric is None:
        raise NotFound(f"rubric {rubric_id} not found")
    return rubric


async def evaluate(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, evaluator: str, data: EvaluationCreate
) -> Evaluation:
    """Score a tool against a rubric: every criterion once, each within 0..scale_max."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    rubric = await RubricRepository(session).get(district_id=district_id, rubric_id=data.rubric_id)
    if rubric is None:
        raise Unprocessable(f"rubric {data.rubric_id} does not exist in this district", field="rubric_id")
    keys = [str(c["key"]) for c in rubric.criteria]
    for key in data.scores:
        if key not in keys:
            raise Unprocessable(
                f"{key!r} is not a criterion of rubric {rubric.name!r}", field=f"scores.{key}"
            )
    for key in keys:
        if key not in data.scores:
            raise Unprocessable(f"criterion {key!r} has no score", field=f"scores.{key}")
        if not 0 <= data.scores[key] <= rubric.scale_max:
            raise Unprocessable(f"score must be between 0 and {rubric.scale_max}", field=f"scores.{key}")
    total = weighted_total(rubric.criteria, data.scores)
    evaluation = Evaluation(
        district_id=district_id,
        tool_id=tool.id,
        rubric_id=rubric.id,
        scores=dict(data.scores),
        weighted_total=round(total, 4),
        weighted_percent=round(100 * total / rubric.scale_max, 2),
        picrat_student=data.picrat_student,
        picrat_teacher=data.picrat_teacher,
        samr=data.samr,
        notes=data.notes,
        evaluator=evaluator,
    )
    await RubricRepository(session).add(evaluation)
    return evaluation
