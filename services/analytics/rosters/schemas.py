"""Schemas of roster imports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

ImportState = Literal["queued", "running", "succeeded", "failed"]


class SchoolRead(BaseModel):
    """A school of the district's roster (a OneRoster org of type `school`)."""

    sourced_id: str = Field(description="The org's sourcedId: the dashboards' `school_id`.")
    name: str


class RowError(BaseModel):
    """A bad row of a OneRoster file: skipped, the rest of the file is kept."""

    file: str
    line: int = Field(description="Line in the file (the header is line 1).")
    field: str
    message: str


class FileProgress(BaseModel):
    """How far the import is in one file."""

    rows: int = Field(default=0, description="Data rows read so far (the header not counted).")
    accepted: int = Field(default=0, description="Rows imported or marked `tobedeleted`.")
    rejected: int = Field(default=0, description="Bad rows, skipped.")


class RosterImportRead(BaseModel):
    """What an import did, per file."""

    oneroster_version: str = Field(description="1.1 or 1.2: from manifest.csv, else read off the files.")
    modes: dict[str, str] = Field(
        description="bulk or delta per data file supplied (without manifest.csv: delta)."
    )
    upserted: dict[str, int]
    deleted: dict[str, int] = Field(
        description="Rows removed: `tobedeleted`, no longer listed in a bulk file, or enrollments of "
        "removed users and classes."
    )


class RosterImportJobRead(BaseModel):
    """A roster import: queued, running (with its progress), then succeeded (with what it did) or
    failed (nothing of the upload applied)."""

    id: uuid.UUID
    state: ImportState
    step: str | None = Field(
        default=None, description="What a running import does now (the file it reads, or applying)."
    )
    files: dict[str, FileProgress] = Field(description="Progress per data file supplied.")
    errors: list[RowError] = Field(
        description="The first bad rows (at most 100), in the order they were read."
    )
    errors_total: int = Field(description="Every bad row (and bad file) so far.")
    error_counts: dict[str, dict[str, int]] = Field(description="Bad rows per file and field, all counted.")
    result: RosterImportRead | None = Field(default=None, description="When succeeded: what it did.")
    failure: str | None = Field(
        default=None, description="When failed: why (the roster is as it was before the upload)."
    )
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
