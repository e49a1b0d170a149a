"""A pilot's page (edtech, specialist; a teacher their own pilot): the observation schedule,
time-on-task, the TTIS and TAM surveys, error patterns, usage, the report and the decision; all from
the pilots service's API (the report, staff only, adds usage and the error rate)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.gateway.pages.api import ServiceApi
from services.gateway.pages.tables import Chart, Column, Series, Table


async def load(api: ServiceApi, pilot_id: str, *, staff: bool) -> dict[str, Any]:
    """Everything the pilot's page shows; the report only for staff (the API's rule)."""
    base = f"/pilots/{pilot_id}"
    pilot = await api.get("pilots", base)
    schedule, summary, surveys, errors, patterns = await api.gather(
        api.get("pilots", f"{base}/schedule", {"limit": 500}),
        api.get("pilots", f"{base}/observations/summary"),
        api.get_or_none("pilots", f"{base}/surveys/results"),
        api.get_or_none("pilots", f"{base}/errors", {"limit": 500}),
        api.get_or_none("pilots", f"{base}/error-patterns"),
    )
    report = await api.get_or_none("pilots", f"{base}/report") if staff else None
    tool = await api.get_or_none("catalog", f"/tools/{pilot['tool_id']}")
    return {
        "pilot": pilot,
        "tool": tool,
        "schedule": schedule["items"],
        "summary": summary,
        "surveys": surveys,
        "errors": errors["items"] if errors else None,
        "patterns": patterns,
        "report": report,
    }


def schedule_status(data: dict[str, Any]) -> Table:
    """How many scheduled observations were done, are due, were missed."""
    counts = Counter(slot["status"] for slot in data["schedule"])
    return Table(
        name="schedule-status",
        caption="Observation schedule: done, due and missed",
        columns=[Column("status", "Status"), Column("observations", "Observations", "int")],
        rows=[{"status": s, "observations": counts.get(s, 0)} for s in ("done", "due", "missed")],
        chart=Chart(label_column="status", series=(Series("Observations", "observations"),), horizontal=True),
    )


def schedule(data: dict[str, Any]) -> Table:
    """Every scheduled observation (twice weekly per teacher)."""
    return Table(
        name="schedule",
        caption="Observation schedule",
        columns=[
            Column("scheduled_on", "Date", "date"),
            Column("week", "Week", "int"),
            Column("teacher_id", "Teacher"),
            Column("status", "Status"),
        ],
        rows=sorted(data["schedule"], key=lambda s: (s["scheduled_on"], s["teacher_id"])),
    )


def time_on_task(data: dict[str, Any]) -> Table:
    """Time-on-task per week of the pilot (5-minute intervals sampled in observations)."""
    return Table(
        name="time-on-task",
        caption="Time-on-task per week",
        columns=[
            Column("week", "Week", "int"),
            Column("observations", "Observations", "int"),
            Column("intervals", "Intervals", "int"),
            Column("on_task", "Students on task", "int"),
            Column("present", "Students present", "int"),
            Column("time_on_task", "Time-on-task", "percent"),
        ],
        rows=[{**w, "week_label": f"Week {w['week']}"} for w in data["summary"]["per_week"]],
        chart=Chart(
            label_column="week_label", series=(Series("Time-on-task", "time_on_task"),), percent=True
        ),
        note=_overall(data["summary"]["overall"]),
    )


def _overall(overall: dict[str, Any]) -> str:
    share = overall.get("time_on_task")
    return f"Overall: {overall['observations']} observation(s), " + (
        f"{share * 100:.1f}% of students on task." if share is not None else "no time-on-task yet."
    )


def time_by_teacher(data: dict[str, Any]) -> Table:
    """Time-on-task per teacher."""
    return Table(
        name="time-by-teacher",
        caption="Time-on-task per teacher",
        columns=[
            Column("teacher_id", "Teacher"),
            Column("observations", "Observations", "int"),
            Column("on_task", "Students on task", "int"),
            Column("present", "Students present", "int"),
            Column("time_on_task", "Time-on-task", "percent"),
        ],
        rows=list(data["summary"]["per_teacher"]),
    )


def ttis(data: dict[str, Any]) -> Table:
    """The TTIS before and after, per teacher."""
    result = (data["surveys"] or {}).get("ttis") or {"teachers": []}
    return Table(
        name="ttis",
        caption="Technology integration (TTIS) before and after",
        columns=[
            Column("teacher_id", "Teacher"),
            Column("pre", "Before", "number"),
            Column("post", "After", "number"),
            Column("delta", "Change", "number"),
        ],
        rows=[{k: t[k] for k in ("teacher_id", "pre", "post", "delta")} for t in result["teachers"]],
        chart=Chart(label_column="teacher_id", series=(Series("Before", "pre"), Series("After", "post"))),
    )


def tam(data: dict[str, Any]) -> Table:
    """TAM: the share of positive answers per phase and dimension, against the buy-in target."""
    rows = []
    for phase in (data["surveys"] or {}).get("tam") or []:
        parts = [("overall", phase["overall"]), *sorted(phase["dimensions"].items())]
        for dimension, counts in parts:
            rows.append(
                {
                    "phase": phase["phase"],
                    "dimension": dimension.replace("_", " "),
                    "respondents": phase["respondents"],
                    "answers": counts["answers"],
                    "positive": counts["positive"],
                    "share_positive": counts["share_positive"],
                    "target": phase["buy_in_target"],
                }
            )
    return Table(
        name="tam",
        caption="Technology acceptance (TAM): positive answers against the buy-in target",
        columns=[
            Column("phase", "Phase"),
            Column("dimension", "Dimension"),
            Column("respondents", "Teachers answering", "int"),
            Column("answers", "Answers", "int"),
            Column("positive", "Positive", "int"),
            Column("share_positive", "Share positive", "percent"),
            Column("target", "Target", "percent"),
        ],
        rows=rows,
        chart=Chart(
            label_column=("phase", "dimension"),
            series=(Series("Share positive", "share_positive"), Series("Target", "target", kind="line")),
            percent=True,
        ),
    )


def errors(data: dict[str, Any]) -> Table:
    """Technical errors logged during the pilot."""
    return Table(
        name="errors",
        caption="Technical errors logged",
        columns=[
            Column("occurred_at", "When", "datetime"),
            Column("class_period", "Class period"),
            Column("severity", "Severity"),
            Column("what_failed", "What failed"),
            Column("device", "Device"),
        ],
        rows=sorted(data["errors"] or [], key=lambda e: e["occurred_at"]),
    )


def patterns(data: dict[str, Any]) -> Table:
    """Failures recurring in the same class period day after day."""
    found = data["patterns"] or {"patterns": [], "min_days": None, "window_days": None}
    return Table(
        name="error-patterns",
        caption="Error patterns: the same class period failing day after day",
        columns=[
            Column("class_period", "Class period"),
            Column("occurrences", "Errors", "int"),
            Column("days", "Days"),
            Column("first_at", "First", "datetime"),
            Column("last_at", "Last", "datetime"),
        ],
        rows=[{**p, "days": ", ".join(p["days"])} for p in found["patterns"]],
        note=(
            f"A pattern: errors in one class period on {found['min_days']} or more days within "
            f"{found['window_days']} days."
            if found.get("min_days")
            else None
        ),
    )


def usage(data: dict[str, Any]) -> Table | None:
    """Each pilot teacher's use of the tool (analytics, through the report; staff only)."""
    report = data["report"]
    if report is None:
        return None
    return Table(
        name="usage",
        caption="Use of the tool per pilot teacher",
        columns=[
            Column("teacher_id", "Teacher"),
            Column("events", "Events", "int"),
            Column("logins", "Logins", "int"),
            Column("submissions", "Submissions", "int"),
            Column("feature_uses", "Feature uses", "int"),
            Column("minutes", "Minutes", "number"),
            Column("active_days", "Active days", "int"),
        ],
        rows=list(report["usage"]["teachers"]),
        chart=Chart(label_column="teacher_id", series=(Series("Events", "events"),)),
    )


TABLES = {
    "schedule-status": schedule_status,
    "time-on-task": time_on_task,
    "time-by-teacher": time_by_teacher,
    "ttis": ttis,
    "tam": tam,
    "error-patterns": patterns,
    "errors": errors,
    "usage": usage,
    "schedule": schedule,
}
"""Every table of a pilot's page by name, in the page's order (the CSV exports' names)."""


def pilots(items: list[dict[str, Any]], tool_names: dict[str, str]) -> Table:
    """The district's pilots (a teacher's own)."""
    return Table(
        name="pilots",
        caption="Pilots",
        columns=[
            Column("title", "Pilot"),
            Column("tool_name", "Tool"),
            Column("status", "Status"),
            Column("start_date", "Starts", "date"),
            Column("end_date", "Ends", "date"),
            Column("decision", "Decision"),
            Column("id", "Pilot id"),
        ],
        rows=[
            {**p, "tool_name": tool_names.get(p["tool_id"]), "page_href": f"/app/pilots/{p['id']}"}
            for p in items
        ],
    )
