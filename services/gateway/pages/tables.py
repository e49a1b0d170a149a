"""Tables, written once for the HTML page, its CSV export and its chart.

A table keeps the API's own values (fractions stay fractions, money stays the number the API gave):
the CSV writes them as they are, so an export holds the same numbers as the API; the page formats
them per column kind (a percent, a sum of money) for reading. A chart is drawn from a table's
columns, so the chart, its table (its text alternative) and the export cannot disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "int", "number", "percent", "money", "date", "datetime", "bool"]


@dataclass(frozen=True)
class Column:
    """One column: its key in the CSV, its header on the page, how its values read."""

    key: str
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Series:
    """One data set of a chart: a column of the table (or a constant line, such as a target)."""

    label: str
    column: str | None = None
    constant: float | None = None
    kind: Literal["bar", "line"] = "bar"
    stack: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart of a table: one bar (or point) per row, labelled by `label_column`."""

    label_column: str | tuple[str, ...]
    series: tuple[Series, ...]
    percent: bool = False
    stacked: bool = False
    horizontal: bool = False


@dataclass
class Table:
    """A captioned table of rows of raw values, with the freshness of the figures it shows."""

    name: str
    caption: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    freshness: dict[str, Any] | None = None
    chart: Chart | None = None
    note: str | None = None
    row_classes: list[str] = field(default_factory=list)

    def cell(self, row: dict[str, Any], column: Column) -> str:
        """A value as the page shows it."""
        return display(row.get(column.key), column.kind)

    def csv(self) -> str:
        """The table as CSV: the headers' keys, then the raw values (empty for none)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow(["" if row.get(c.key) is None else _raw(row.get(c.key)) for c in self.columns])
        return out.getvalue()

    def chart_data(self) -> dict[str, Any] | None:
        """What the page's script hands to Chart.js (labels, data sets), or None without a chart."""
        if self.chart is None:
            return None
        keys = (
            (self.chart.label_column,)
            if isinstance(self.chart.label_column, str)
            else self.chart.label_column
        )
        labels = [" · ".join(str(row.get(k) or "-") for k in keys) for row in self.rows]
        datasets = []
        for s in self.chart.series:
            if s.column is not None:
                data = [row.get(s.column) for row in self.rows]
            else:
                data = [s.constant for _ in self.rows]
            datasets.append({"label": s.label, "data": data, "type": s.kind, "stack": s.stack})
        return {
            "labels": labels,
            "datasets": datasets,
            "percent": self.chart.percent,
            "stacked": self.chart.stacked,
            "horizontal": self.chart.horizontal,
            "title": self.caption,
        }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _raw(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # Text a spreadsheet would run as a formula (a tool named "=HYPERLINK(...)"): kept as text.
        return "'" + value
    return value


def display(value: Any, kind: Kind) -> str:
    """A raw value as people read it."""
    if value is None:
        return "n/a"
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "money":
        return f"${float(value):,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return f"{float(value):,.2f}"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "datetime":
        return str(value).replace("T", " ")[:16] + " UTC"
    return str(value)
