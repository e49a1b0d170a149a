"""Request and response bodies for checklist points."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Point = Literal["privacy", "sso", "accessibility", "cost", "evidence", "mobile"]
Result = Literal["pass", "fail", "pending"]

POINTS: tuple[Point, ...] = ("privacy", "sso", "accessibility", "cost", "evidence", "mobile")
LABELS: dict[str, str] = {
    "privacy": "Data privacy compliance: FERPA and COPPA (signed DPA, vendor policy)",
    "sso": "Single sign-on (SSO) integration",
    "accessibility": "Accessibility: WCAG 2.1 AA",
    "cost": "Cost per student per year under the district limit (supplemental tools)",
    "evidence": "Evidence base meeting ESSA Tier 1-4",
    "mobile": "Mobile responsiveness (works on smartphones)",
}


class ChecklistPointUpdate(BaseModel):
    """The outcome of one point; `pass` and `fail` need evidence (a note or a link)."""

    model_config = ConfigDict(extra="forbid")

    result: Result
    evidence: str | None = Field(default=None, max_length=5000)
    evidence_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    essa_tier: int | None = Field(default=None, ge=1, le=4, description="ESSA tier (evidence point only).")


class ChecklistPointRead(BaseModel):
    """One point's state; never-recorded points read as `pending` with no reviewer."""

    point: Point
    label: str
    result: Result
    evidence: str | None = None
    evidence_url: str | None = None
    essa_tier: int | None = None
    computed: bool = Field(default=False, description="Set by the catalog (cost from the license).")
    details: dict[str, Any] = Field(default_factory=dict)
    reviewer: str | None = None
    reviewed_at: dt.datetime | None = None


class ChecklistRead(BaseModel):
    """All six points of a tool and the overall state (`failed` if any failed, `passed` if all passed)."""

    tool_id: uuid.UUID
    state: Literal["pending", "passed", "failed"]
    points: list[ChecklistPointRead]
