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

    oneroster_version: str = Field(description="1.1 or 1.2: from manifest.csv, else read off the files.")
    modes: dict[str, str] = Field(
        description="bulk or delta per data file supplied (without manifest.csv: delta)."
    )
    upserted: dict[str, int]
    deleted: dict[str, int] = Field(
        description="Rows removed: `tobedeleted`, no longer listed in a bulk file, or enrollments of "
        "removed users and classes."
    )
    errors: list[RowError]
