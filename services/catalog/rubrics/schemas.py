"""Request and response bodies for rubrics and evaluations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PicratStudent = Literal["passive", "interactive", "creative"]
PicratTeacher = Literal["replacement", "amplification", "transformation"]
Samr = Literal["substitution", "augmentation", "modification", "redefinition"]


class Criterion(BaseModel):
    """One weighted criterion tied to a learning objective."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    learning_objective: str = Field(min_length=1, max_length=1000)
    weight: float = Field(gt=0, le=100)


class RubricCreate(BaseModel):
    """A district rubric: criteria scored 0..scale_max."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    scale_max: int = Field(default=4, ge=1, le=100)
    criteria: list[Criterion] = Field(min_length=1, max_length=50)

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[Criterion]) -> list[Criterion]:
        keys = [c.key for c in criteria]
        if len(keys) != len(set(keys)):
            raise ValueError("criterion keys must be unique")
        return criteria


class RubricRead(BaseModel):
    """A rubric as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    scale_max: int
    criteria: list[Criterion]
    created_by: str
    created_at: dt.datetime


class EvaluationCreate(BaseModel):
    """A tool scored against a rubric: one score per criterion key."""

    model_config = ConfigDict(extra="forbid")

    rubric_id: uuid.UUID
    scores: dict[str, float]
    picrat_student: PicratStudent = Field(description="Students' use: passive, interactive or creative.")
    picrat_teacher: PicratTeacher = Field(
        description="Teacher's use: replacement, amplification, transformation."
    )
    samr: Samr
    notes: str | None = Field(default=None, max_length=10_000)


class EvaluationRead(BaseModel):
    """An evaluation with its weighted total (on the rubric's scale and as a percentage)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    rubric_id: uuid.UUID
    scores: dict[str, float]
    weighted_total: float
    weighted_percent: float
    picrat_student: PicratStudent
    picrat_teacher: PicratTeacher
    picrat: str = ""
    samr: Samr
    notes: str | None
    evaluator: str
    created_at: dt.datetime


class ComparisonRow(BaseModel):
    """One evaluation in a side-by-side comparison."""

    evaluation: EvaluationRead
    tool_name: str


class Comparison(BaseModel):
    """Evaluations against one rubric, side by side, best weighted total first."""

    rubric: RubricRead
    rows: list[ComparisonRow]
