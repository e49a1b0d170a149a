"""Request and response bodies for instruments, survey responses and survey results."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

CODE = r"^[A-Za-z0-9_\-]+$"
ScaleValue = Annotated[int, Field(ge=0, le=10)]
"""An answer on an instrument's scale (whose bounds lie within 0..10)."""


class InstrumentItemCreate(BaseModel):
    """One item of a new instrument."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=CODE)
    dimension: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=2000)
    reverse_scored: bool = False


class InstrumentUpdate(BaseModel):
    """An instrument's content: name, scale, phases and items (replaces the items as a whole)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    scale_min: int = Field(default=1, ge=0, le=10)
    scale_max: int = Field(default=5, ge=1, le=10)
    scale_labels: dict[str, str] = Field(default_factory=dict)
    phases: list[str] = Field(default_factory=lambda: ["pre", "post"], min_length=1, max_length=10)
    items: list[InstrumentItemCreate] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentUpdate:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be above scale_min")
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError("item codes must be unique")
        return self


class InstrumentCreate(InstrumentUpdate):
    """A district's own survey instrument: its code, scale, phases and items."""

    code: str = Field(min_length=1, max_length=32, pattern=CODE)


class InstrumentItemRead(BaseModel):
    """One item as stored."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    dimension: str
    text: str
    position: int
    reverse_scored: bool


class InstrumentRead(BaseModel):
    """An instrument and its items."""

    id: uuid.UUID
    code: str
    name: str
    description: str | None
    scale_min: int
    scale_max: int
    scale_labels: dict[str, str]
    phases: list[str]
    items: list[InstrumentItemRead]


class SurveyResponseCreate(BaseModel):
    """A teacher's answers (item code -> value on the instrument's scale) for one phase."""

    model_config = ConfigDict(extra="forbid")

    phase: str = Field(min_length=1, max_length=16, examples=["pre"])
    answers: dict[str, ScaleValue] = Field(min_length=1, examples=[{"ttis_1": 4, "ttis_2": 3}])


class SurveyResponseRead(BaseModel):
    """A stored response with its score (mean, reverse items flipped) and dimension means."""

    id: uuid.UUID
    pilot_id: uuid.UUID
    instrument_code: str
    teacher_id: str
    phase: str
    answers: dict[str, int]
    score: float
    dimension_scores: dict[str, float]
    submitted_at: dt.datetime


class TtisTeacherDelta(BaseModel):
    """One teacher's TTIS scores before and after, and the change."""

    teacher_id: str
    pre: float | None
    post: float | None
    delta: float | None
    dimension_deltas: dict[str, float]


class TtisResult(BaseModel):
    """TTIS pre/post per teacher and on average (the mean delta counts teachers with both)."""

    teachers: list[TtisTeacherDelta]
    mean_pre: float | None
    mean_post: float | None
    mean_delta: float | None


class TamDimension(BaseModel):
    """Positive answers (at or above the threshold) among all answers of a dimension."""

    answers: int
    positive: int
    share_positive: float | None


class TamResult(BaseModel):
    """TAM in one phase: per dimension and overall, against the buy-in target."""

    phase: str
    respondents: int
    threshold: int
    dimensions: dict[str, TamDimension]
    overall: TamDimension
    buy_in_target: float
    meets_target: bool | None


class SurveyResults(BaseModel):
    """A pilot's survey results."""

    ttis: TtisResult
    tam: list[TamResult]
