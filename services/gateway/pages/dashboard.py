"""The monthly dashboard's tables, from `GET /api/analytics/reports/monthly` (one call: every figure
of the month, each with its freshness), for the administrators and the technologists."""

from __future__ import annotations

from typing import Any

from services.gateway.pages.tables import Chart, Column, Series, Table

DUST_SHARE = 0.1
"""A feature used less than this share of the busiest feature's events is marked as gathering dust
(a reading aid on the heatmap; the numbers themselves are the API's)."""


def logins(report: dict[str, Any], group: str) -> Table:
    """Logins of the month by grade level or by subject."""
    part = report[f"logins_by_{group}"]
    label = "Grade" if group == "grade" else "Subject"
    return Table(
        name=f"logins-by-{group}",
        caption=f"Logins by {'grade level' if group == 'grade' else 'subject'}",
        columns=[
            Column("period_start", "Month", "date"),
            Column("group", label),
            Column("logins", "Logins", "int"),
            Column("active_users", "Active users", "int"),
            Column("logins_per_user", "Logins per user", "number"),
        ],
        rows=list(part["rows"]),
        freshness=part["freshness"],
        chart=Chart(
            label_column="group",
            series=(Series("Logins", "logins"), Series("Active users", "active_users")),
        ),
    )


def submissions(report: dict[str, Any]) -> Table:
    """Digital submission rates beside the paper-based baselines, overall and per subject."""
    part = report["submissions"]
    return Table(
        name="submissions",
        caption="Assignment submission rate against the paper baseline",
        columns=[
            Column("subject", "Subject"),
            Column("started", "Started", "int"),
            Column("submitted", "Submitted", "int"),
            Column("rate", "Submission rate", "percent"),
            Column("baseline_rate", "Paper baseline", "percent"),
            Column("difference", "Difference", "percent"),
        ],
        rows=[part["overall"], *part["by_subject"]],
        freshness=part["freshness"],
        chart=Chart(
            label_column="subject",
            series=(Series("Submission rate", "rate"), Series("Paper baseline", "baseline_rate")),
            percent=True,
        ),
    )


def features(report: dict[str, Any]) -> Table:
    """The feature x week heatmap: one row per feature, one column per week (events)."""
    part = report["features"]
    weeks: list[str] = list(part["weeks"])
    busiest = max((f["total_events"] for f in part["features"]), default=0)
    rows, classes = [], []
    for f in part["features"]:
        row: dict[str, Any] = {"feature": f["feature"], "total_events": f["total_events"]}
        for cell in f["cells"]:
            row[f"week_{cell['week']}"] = cell["events"]
        dusty = busiest > 0 and f["total_events"] < DUST_SHARE * busiest
        row["gathering_dust"] = dusty
        rows.append(row)
        classes.append("dust" if dusty else "")
    return Table(
        name="features",
        caption="Feature use per week (events): features gathering dust stand out",
        columns=[
            Column("feature", "Feature"),
            *(Column(f"week_{w}", f"Week of {w}", "int") for w in weeks),
            Column("total_events", "Total events", "int"),
            Column("gathering_dust", "Gathering dust", "bool"),
        ],
        rows=rows,
        freshness=part["freshness"],
        row_classes=classes,
        note=f"Gathering dust: under {DUST_SHARE:.0%} of the busiest feature's events in the month.",
    )


def heat_level(value: Any, busiest: int) -> int:
    """A heatmap cell's shade, 0 (unused) to 4 (the busiest)."""
    if not value or busiest <= 0:
        return 0
    return min(4, 1 + int(3 * value / busiest))


def licenses(report: dict[str, Any]) -> Table:
    """Seats bought against seats used per tool, the dormant seats and the money they waste."""
    part = report["licenses"]
    return Table(
        name="licenses",
        caption="License utilization: active and dormant seats",
        columns=[
            Column("tool_name", "Tool"),
            Column("seats_purchased", "Seats bought", "int"),
            Column("seats_active", "Active seats", "int"),
            Column("dormant_seats", "Dormant seats", "int"),
            Column("utilization", "Utilization", "percent"),
            Column("cost_per_seat", "Cost per seat", "money"),
            Column("total_cost", "Total cost", "money"),
            Column("dormant_cost", "Money on dormant seats", "money"),
            Column("tool_id", "Tool id"),
        ],
        rows=list(part["licenses"]),
        freshness=part["freshness"],
        chart=Chart(
            label_column="tool_name",
            series=(
                Series("Active seats", "seats_active", stack="seats"),
                Series("Dormant seats", "dormant_seats", stack="seats"),
            ),
            stacked=True,
        ),
        note=(
            f"In all: {part['seats_active']:,} of {part['seats_purchased']:,} seats active, "
            f"{part['dormant_seats']:,} dormant, ${part['dormant_cost']:,.2f} spent on dormant seats."
        ),
    )


def teachers(report: dict[str, Any]) -> Table:
    """Teacher utilization per tool against the district's threshold (30% by default)."""
    part = report["teachers"]
    threshold = part["threshold"]
    return Table(
        name="teachers",
        caption=f"Teacher utilization per tool against {threshold:.0%}",
        columns=[
            Column("tool_name", "Tool"),
            Column("status", "Status"),
            Column("teachers", "Teachers", "int"),
            Column("active_teachers", "Active teachers", "int"),
            Column("utilization", "Utilization", "percent"),
            Column("threshold", "Threshold", "percent"),
            Column("under_threshold", "Under the threshold", "bool"),
            Column("adoption_rate", "Adoption", "percent"),
            Column("tool_id", "Tool id"),
        ],
        rows=[{**{k: v for k, v in t.items() if k != "tam"}, "threshold": threshold} for t in part["tools"]],
        freshness=part["freshness"],
        chart=Chart(
            label_column="tool_name",
            series=(
                Series("Teacher utilization", "utilization"),
                Series(f"Threshold ({threshold:.0%})", constant=threshold, kind="line"),
            ),
            percent=True,
        ),
    )


_BUY_IN_COLUMNS = (
    Column("respondents", "Teachers answering", "int"),
    Column("answers", "Answers", "int"),
    Column("positive", "Positive answers", "int"),
    Column("buy_in", "Buy-in", "percent"),
    Column("target", "Target", "percent"),
    Column("meets_target", "Meets the target", "bool"),
)
"""The columns of a TAM buy-in figure (the API's `QuarterBuyIn`), the district's and each tool's."""
_BUY_IN_SERIES = (Series("Buy-in", "buy_in"), Series("Target", "target", kind="line"))


def _target(target: float | None) -> str:
    return f"the {target:.0%} target" if target is not None else "the district's target"


def district_buy_in(report: dict[str, Any]) -> Table:
    """The district's TAM buy-in per quarter of the school year (every tool's answers, from the school
    year's start through the month), against the district's target: the API's `buy_in`."""
    part = report["buy_in"]
    target = part["target"]
    overall = (
        f"School year to {report['end']}: {part['buy_in']:.1%} positive answers "
        f"({part['positive']:,} of {part['answers']:,}, {part['respondents']:,} teachers)."
        if part["buy_in"] is not None
        else "No TAM answers this school year yet."
    )
    return Table(
        name="district-buy-in",
        caption=f"District-wide TAM buy-in per quarter against {_target(target)}",
        columns=[
            Column("quarter", "Quarter"),
            Column("start", "From", "date"),
            Column("end", "To", "date"),
            *_BUY_IN_COLUMNS,
        ],
        rows=list(part["quarters"]),
        freshness=report["teachers"]["freshness"],
        chart=Chart(
            label_column="quarter",
            series=_BUY_IN_SERIES,
            percent=True,
        ),
        note=overall,
    )


def buy_in(report: dict[str, Any]) -> Table:
    """TAM buy-in per quarter of the school year and per tool, against the district's target."""
    part = report["teachers"]
    rows = [
        {"tool_name": t["tool_name"], "tool_id": t["tool_id"], **q}
        for t in part["tools"]
        for q in t["tam"]["quarters"]
    ]
    targets = {r["target"] for r in rows if r.get("target") is not None}
    target = targets.pop() if len(targets) == 1 else None
    return Table(
        name="buy-in",
        caption=f"TAM buy-in per tool in the month against {_target(target)}",
        columns=[
            Column("tool_name", "Tool"),
            Column("quarter", "Quarter"),
            *_BUY_IN_COLUMNS,
            Column("tool_id", "Tool id"),
        ],
        rows=rows,
        freshness=part["freshness"],
        chart=Chart(label_column=("tool_name", "quarter"), series=_BUY_IN_SERIES, percent=True),
    )


def errors(report: dict[str, Any]) -> Table:
    """Technical errors per tool, week and severity."""
    return Table(
        name="errors",
        caption="Technical errors per tool and week",
        columns=[
            Column("tool_name", "Tool"),
            Column("week", "Week of", "date"),
            Column("severity", "Severity"),
            Column("errors", "Errors", "int"),
            Column("tool_id", "Tool id"),
        ],
        rows=list(report["errors"]),
        freshness=report["freshness"],
    )


TABLES = {
    "logins-by-grade": lambda r: logins(r, "grade"),
    "logins-by-subject": lambda r: logins(r, "subject"),
    "submissions": submissions,
    "features": features,
    "licenses": licenses,
    "teachers": teachers,
    "district-buy-in": district_buy_in,
    "buy-in": buy_in,
    "errors": errors,
}
"""Every table of the dashboard by name, in the page's order (the CSV exports' names)."""
