"""Rules of a row of an uploaded CSV file (rosters, achievement results): the one refusal every
file reports by line and field, and the cells every file reads alike."""

from __future__ import annotations

import datetime as dt

from shared.validation import DATE_RANGE, in_range


class RowRejected(ValueError):
    """A row that cannot be imported, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def required_cell(row: dict[str, str], name: str) -> str:
    """A cell that must not be empty, stripped."""
    value = (row.get(name) or "").strip()
    if not value:
        raise RowRejected(name, f"{name} is required")
    return value


def date_cell(row: dict[str, str], name: str) -> dt.date:
    """A required date (`YYYY-MM-DD`, or the day of an ISO 8601 moment) within the supported dates."""
    value = required_cell(row, name)
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise RowRejected(name, f"{name} {value!r} is not a date (YYYY-MM-DD)") from None
    if not in_range(day):
        raise RowRejected(name, f"{name} {value!r} is outside the supported dates {DATE_RANGE}")
    return day
