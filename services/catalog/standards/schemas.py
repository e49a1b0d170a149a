"""Request and response bodies for standards alignments; code formats are validated here."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Framework = Literal["CCSS", "NGSS", "STATE"]

CCSS_CODE = re.compile(
    r"^CCSS\.(MATH\.CONTENT|MATH\.PRACTICE|ELA-LITERACY)(\.[A-Z0-9-]+){1,5}$", re.IGNORECASE
)
"""e.g. CCSS.MATH.CONTENT.6.RP.A.1, CCSS.ELA-LITERACY.RL.5.2, CCSS.MATH.PRACTICE.MP1."""

NGSS_CODE = re.compile(r"^(K|[1-5]|MS|HS)-(PS|LS|ESS|ETS)[1-4]-[1-9][0-9]?$")
"""e.g. K-ESS2-1, 3-LS4-1, MS-PS1-2, HS-LS1-1."""


class StandardAlignmentCreate(BaseModel):
    """A standard to map a tool to: CCSS and NGSS codes are checked; state codes need a jurisdiction."""

    model_config = ConfigDict(extra="forbid")

    framework: Framework
    code: str = Field(min_length=1, max_length=100)
    jurisdiction: str | None = Field(
        default=None,
        max_length=32,
        validate_default=True,
        description="The state (e.g. TX); required for STATE codes.",
    )
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("code")
    @classmethod
    def _code_format(cls, code: str, info: ValidationInfo) -> str:
        code = code.strip()
        framework = info.data.get("framework")
        if framework == "CCSS":
            if not CCSS_CODE.match(code):
                raise ValueError(
                    "not a CCSS code (expected e.g. CCSS.MATH.CONTENT.6.RP.A.1 or CCSS.ELA-LITERACY.RL.5.2)"
                )
            return code.upper()
        if framework == "NGSS":
            if not NGSS_CODE.match(code.upper()):
                raise ValueError("not an NGSS performance expectation (expected e.g. MS-PS1-2, K-ESS2-1)")
            return code.upper()
        if not code:
            raise ValueError("a state standard code cannot be blank")
        return code

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, jurisdiction: str | None, info: ValidationInfo) -> str | None:
        value = jurisdiction.strip().upper() if jurisdiction else None
        if info.data.get("framework") == "STATE" and not value:
            raise ValueError("a state standard needs its jurisdiction (e.g. TX)")
        return value


class StandardAlignmentRead(BaseModel):
    """A recorded alignment."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tool_id: uuid.UUID
    framework: Framework
    code: str
    jurisdiction: str | None
    description: str | None
    created_by: str
    created_at: dt.datetime

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None
