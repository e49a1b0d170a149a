"""How far a roster import is: rows read, accepted and rejected per file, the first bad rows and a
count of all of them per file and field (an answer of bounded size, whatever the upload holds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.rosters.manifest import DATA_FILES
from services.analytics.rosters.schemas import FileProgress, RowError

FIRST_ERRORS = 100
"""Bad rows an import reports one by one; all are counted."""


class Report:
    """What an import has read so far: rows per file, the first bad rows, and every one counted."""

    def __init__(self, files: Collection[str]) -> None:
        self.step: str | None = None
        self.files = {name: FileProgress() for name in DATA_FILES if name in files}
        self.errors: list[RowError] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.total = 0

    def reject(self, error: RowError) -> None:
        """Count a bad row (or file); keep it if it is among the first."""
        self.total += 1
        per_field = self.counts.setdefault(error.file, {})
        per_field[error.field] = per_field.get(error.field, 0) + 1
        if len(self.errors) < FIRST_ERRORS:
            self.errors.append(error)

    def restart(self, name: str) -> None:
        """Forget what was read of one file (the file turned out unreadable half way)."""
        kept = [e for e in self.errors if e.file != name]
        self.total -= sum(self.counts.pop(name, {}).values())
        self.errors = kept
        self.files[name] = FileProgress()

    def to_json(self) -> dict[str, Any]:
        """The progress as the job stores and answers it."""
        return {
            "step": self.step,
            "files": {name: p.model_dump() for name, p in self.files.items()},
            "errors": [e.model_dump() for e in self.errors],
            "errors_total": self.total,
            "error_counts": self.counts,
        }


Progress = Callable[[AsyncSession, Report], Awaitable[None]]
"""Called in each step's transaction of an import, to record how far it is."""
