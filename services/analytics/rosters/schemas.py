"""Schemas of roster imports."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RowError(BaseModel):
    """A bad row of a OneRoster file: skipped, the rest of the file is kept."""

    file: str
    line: int = Field(description="Line in the file (the header is line 1).")
    field: str
    message: str


class RosterImportRead(BaseModel):
    """What an import did, per file, and the rows it refused."""

    upserted: dict[str, int]
    deleted: dict[str, int]
    errors: list[RowError]
