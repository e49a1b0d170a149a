"""The pipeline (edtech): every tool by lifecycle stage with its checklist state and open flags, the
checklist of the tools in vetting, upcoming renewals and retirements; all from the catalog's API."""

from __future__ import annotations

from typing import Any

from services.gateway.pages.api import ServiceApi
from services.gateway.pages.tables import Chart, Column, Series, Table

STAGES = (
    ("proposed", "Proposed"),
    ("vetting", "Vetting"),
    ("approved_for_pilot", "Approved for pilot"),
    ("piloting", "Piloting"),
    ("adopted", "Adopted"),
    ("sunsetting", "Sunsetting"),
    ("retired", "Retired"),
    ("rejected", "Rejected"),
)
"""The lifecycle in order (DOMAIN.md §1), with each stage's name on the page."""
CHECKLIST = ("privacy", "sso", "accessibility", "cost", "evidence", "mobile")
MAX_TOOLS = 500
MAX_FLAGS = 500
"""The catalog's page size: the pipeline lists up to this many tools and open flags."""


async def load(api: ServiceApi) -> dict[str, Any]:
    """Everything the pipeline shows, read from the catalog concurrently: the district's open flags in
    one call (`GET /api/catalog/flags?open=true`), not one per tool."""
    tools_page, renewals, flags_page = await api.gather(
        api.get("catalog", "/tools", {"limit": MAX_TOOLS}),
        api.get("catalog", "/licenses/renewals", {"limit": MAX_TOOLS}),
        api.get("catalog", "/flags", {"open": "true", "limit": MAX_FLAGS}),
    )
    tools: list[dict[str, Any]] = tools_page["items"]
    vetting = [t for t in tools if t["status"] == "vetting"]
    sunsetting = [t for t in tools if t["status"] in ("sunsetting", "retired")]
    checklists = await api.gather(*(api.get("catalog", f"/tools/{t['id']}/checklist") for t in vetting))
    retirements = await api.gather(
        *(api.get_or_none("catalog", f"/tools/{t['id']}/retirement") for t in sunsetting)
    )
    open_flags: dict[str, list[dict[str, Any]]] = {}
    for f in flags_page["items"]:
        open_flags.setdefault(f["tool_id"], []).append(f)
    return {
        "tools": tools,
        "total": tools_page["total"],
        "open_flags": open_flags,
        "flags_total": flags_page["total"],
        "checklists": list(zip(vetting, checklists, strict=True)),
        "renewals": renewals["items"],
        "retirements": [
            (t, r) for t, r in zip(sunsetting, retirements, strict=True) if r and r["status"] == "scheduled"
        ],
    }


def stages(data: dict[str, Any]) -> Table:
    """How many tools each lifecycle stage holds."""
    counts = {s: 0 for s, _ in STAGES}
    for t in data["tools"]:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    return Table(
        name="stages",
        caption="Tools by lifecycle stage",
        columns=[Column("stage", "Stage"), Column("status", "Status"), Column("tools", "Tools", "int")],
        rows=[{"stage": label, "status": s, "tools": counts[s]} for s, label in STAGES],
        chart=Chart(label_column="stage", series=(Series("Tools", "tools"),)),
    )


def tools(data: dict[str, Any]) -> Table:
    """Every tool, stage by stage, with its checklist state and open flags."""
    order = {s: i for i, (s, _) in enumerate(STAGES)}
    label = dict(STAGES)
    rows = []
    for t in sorted(data["tools"], key=lambda t: (order.get(t["status"], 99), t["name"].lower())):
        flags = data["open_flags"].get(t["id"], [])
        rows.append(
            {
                "name": t["name"],
                "stage": label.get(t["status"], t["status"]),
                "vendor": t.get("vendor"),
                "category": t.get("category"),
                "checklist_state": t.get("checklist_state"),
                "open_flags": len(flags),
                "flag_kinds": ", ".join(sorted({f["kind"].replace("_", " ") for f in flags})) or None,
                "tool_id": t["id"],
            }
        )
    return Table(
        name="tools",
        caption="Every tool by lifecycle stage",
        columns=[
            Column("name", "Tool"),
            Column("stage", "Stage"),
            Column("vendor", "Vendor"),
            Column("category", "Category"),
            Column("checklist_state", "Checklist"),
            Column("open_flags", "Open flags", "int"),
            Column("flag_kinds", "Flags"),
            Column("tool_id", "Tool id"),
        ],
        rows=rows,
    )


def checklist(data: dict[str, Any]) -> Table:
    """The six checklist points of each tool in vetting."""
    rows = []
    for tool, sheet in data["checklists"]:
        results = {p["point"]: p["result"] for p in sheet["points"]}
        rows.append({"name": tool["name"], "state": sheet["state"], **results, "tool_id": tool["id"]})
    return Table(
        name="checklist",
        caption="The vetting checklist of the tools in vetting",
        columns=[
            Column("name", "Tool"),
            Column("state", "Checklist"),
            Column("privacy", "Privacy (FERPA, COPPA)"),
            Column("sso", "Single sign-on"),
            Column("accessibility", "Accessibility (WCAG 2.1 AA)"),
            Column("cost", "Cost per student"),
            Column("evidence", "Evidence (ESSA)"),
            Column("mobile", "Mobile"),
            Column("tool_id", "Tool id"),
        ],
        rows=rows,
    )


def flags(data: dict[str, Any]) -> Table:
    """Open flags: removal candidates and reviews."""
    names = {t["id"]: t["name"] for t in data["tools"]}
    rows = [
        {
            "name": names.get(tool_id),
            "kind": f["kind"].replace("_", " "),
            "source": f["source"],
            "note": f.get("note"),
            "created_at": f["created_at"],
            "tool_id": tool_id,
        }
        for tool_id, open_flags in data["open_flags"].items()
        for f in open_flags
    ]
    return Table(
        name="flags",
        caption="Open flags: removal candidates and reviews",
        columns=[
            Column("name", "Tool"),
            Column("kind", "Flag"),
            Column("source", "Raised by"),
            Column("note", "Note"),
            Column("created_at", "Since", "datetime"),
            Column("tool_id", "Tool id"),
        ],
        rows=sorted(rows, key=lambda r: r["created_at"], reverse=True),
        note=(
            f"The newest {len(rows)} of {data['flags_total']:,} open flags."
            if data.get("flags_total", 0) > len(rows)
            else None
        ),
    )


def renewals(data: dict[str, Any]) -> Table:
    """Licenses renewing within the district's renewal window."""
    return Table(
        name="renewals",
        caption="Upcoming license renewals",
        columns=[
            Column("tool_name", "Tool"),
            Column("renewal_date", "Renews on", "date"),
            Column("days_to_renewal", "Days left", "int"),
            Column("seats", "Seats", "int"),
            Column("price_total", "Price", "money"),
            Column("term_end", "Term ends", "date"),
            Column("tool_id", "Tool id"),
        ],
        rows=list(data["renewals"]),
    )


def retirements(data: dict[str, Any]) -> Table:
    """Scheduled retirements: when the notice ends and the tool leaves classrooms."""
    rows = [
        {
            "name": tool["name"],
            "notice_starts_at": r["notice_starts_at"],
            "notice_ends_at": r["notice_ends_at"],
            "teachers": len(r["teacher_ids"]),
            "archive_location": r["archive_location"],
            "tool_id": tool["id"],
        }
        for tool, r in data["retirements"]
    ]
    return Table(
        name="retirements",
        caption="Upcoming retirements",
        columns=[
            Column("name", "Tool"),
            Column("notice_starts_at", "Notice sent", "datetime"),
            Column("notice_ends_at", "Retires", "datetime"),
            Column("teachers", "Teachers notified", "int"),
            Column("archive_location", "Student work archived at"),
            Column("tool_id", "Tool id"),
        ],
        rows=sorted(rows, key=lambda r: r["notice_ends_at"]),
    )


TABLES = {
    "stages": stages,
    "tools": tools,
    "checklist": checklist,
    "flags": flags,
    "renewals": renewals,
    "retirements": retirements,
}
"""Every table of the pipeline by name, in the page's order (the CSV exports' names)."""
