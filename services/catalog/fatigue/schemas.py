"""Request and response bodies for rollouts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["school", "grade_team"]
SEMESTER_PATTERN = r"^\d{4}-(spring|summer|fall|winter)$"


class RolloutCreate(BaseModel):
    """A plan to introduce a tool to one school or grade team in one semester."""

    model_config = ConfigDict(extra="forbid")

    tool_id: uuid.UUID
    scope: Scope
    scope_id: str = Field(min_length=1, max_length=100, description="School id or grade team name.")
    semester: str = Field(pattern=SEMESTER_PATTERN, examples=["2026-fall"])
    checklist_override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Roll out despite failed checklist points other than privacy (recorded with who "
        "gave it and the points it covers). Never overrides a privacy failure or a pending point.",
    )


class RolloutApprove(BaseModel):
    """Approve a rollout; `override_reason` allows one that exceeds the fatigue limit (recorded);
    `checklist_override_reason` covers checklist points that failed since it was planned."""

    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = Field(default=None, min_length=1, max_length=2000)
    checklist_override_reason: str | None = Field(default=None, min_length=1, max_length=2000)


class RolloutRead(BaseModel):
    """A rollout, with how many new tools its school or grade team already gets that semester."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    scope: Scope
    scope_id: str
    semester: str
    status: Literal["planned", "approved"]
    override_reason: str | None = Field(description="Why it was approved over the fatigue limit.")
    checklist_override_reason: str | None = Field(
        default=None, description="Why it is rolled out despite failed checklist points."
    )
    checklist_override_by: str | None = Field(default=None, description="Who gave that override.")
    checklist_override_points: list[str] = Field(
        default_factory=list, description="The failed points the override covers."
    )
    created_by: str
    created_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    approved_in_scope: int = 0
    limit: int = 0
    would_exceed: bool = Field(default=False, description="Approving it would pass the district's limit.")
