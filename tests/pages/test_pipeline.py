"""The pipeline in Chromium (edtech only): tools by lifecycle stage charted from the catalog's API, the
checklist of the tools in vetting, open flags, upcoming renewals and retirements, CSV exports."""

from __future__ import annotations

import csv
import io

from tests.pages.conftest import RENEWAL_IN_DAYS, Seeded, SignIn, axe_violations, screenshot
from tests.pages.test_dashboard import chart, csv_rows

STAGES = [
    "proposed",
    "vetting",
    "approved_for_pilot",
    "piloting",
    "adopted",
    "sunsetting",
    "retired",
    "rejected",
]


async def test_the_pipeline_shows_every_stage_flag_renewal_and_retirement(
    seeded: Seeded, sign_in: SignIn
) -> None:
    page = await sign_in("/app/pipeline", "edtech")
    assert await page.inner_text("h1") == "Pipeline"
    tools = (await seeded.api("/api/catalog/tools", limit=500))["items"]
    drawn = await chart(page, "stages")
    assert drawn["datasets"][0]["data"] == [sum(t["status"] == s for t in tools) for s in STAGES]
    assert drawn["datasets"][0]["data"] == [1, 1, 0, 1, 0, 1, 0, 0]  # Newsela's retirement is scheduled

    rows = await csv_rows(page, "tools")
    by_name = {r["name"]: r for r in rows}
    assert {(t["name"], t["checklist_state"]) for t in tools} == {
        (r["name"], r["checklist_state"]) for r in rows
    }
    assert by_name["Quizlet"]["open_flags"] == "1" and by_name["Quizlet"]["flag_kinds"] == "review"

    checklist = await page.inner_text("#table-checklist tbody")
    assert checklist.startswith("PhET Simulations")  # the tool in vetting, its six points
    phet = (await seeded.api(f"/api/catalog/tools/{seeded.tools['PhET Simulations']}/checklist"))["points"]
    [row] = await csv_rows(page, "checklist")
    assert {p["point"]: p["result"] for p in phet} == {k: row[k] for k in (p["point"] for p in phet)}

    flags = await page.inner_text("#table-flags tbody")
    assert "Quizlet" in flags and "review" in flags and "Teachers report ads" in flags
    # the open flags are the catalog's district-wide list (GET /api/catalog/flags?open=true), all of them
    listed = await seeded.api("/api/catalog/flags", open="true", limit=500)
    assert listed["total"] == len(listed["items"]) >= 1
    assert sorted((r["tool_id"], r["source"], r["note"]) for r in await csv_rows(page, "flags")) == sorted(
        (f["tool_id"], f["source"], f["note"]) for f in listed["items"]
    )
    open_per_tool = {r["tool_id"]: int(r["open_flags"]) for r in rows}
    assert open_per_tool == {t["id"]: sum(f["tool_id"] == t["id"] for f in listed["items"]) for t in tools}

    renewals = await seeded.api("/api/catalog/licenses/renewals")
    assert [r["tool_name"] for r in renewals["items"]] == ["Desmos Classroom"]
    [renewal] = await csv_rows(page, "renewals")
    assert renewal["days_to_renewal"] == str(RENEWAL_IN_DAYS) == str(renewals["items"][0]["days_to_renewal"])
    assert renewal["renewal_date"] == renewals["items"][0]["renewal_date"]

    retirement = await seeded.api(f"/api/catalog/tools/{seeded.tools['Newsela']}/retirement")
    [retiring] = await csv_rows(page, "retirements")
    assert (retiring["name"], retiring["notice_ends_at"], retiring["archive_location"]) == (
        "Newsela",
        retirement["notice_ends_at"],
        "https://drive.example/newsela-archive",
    )
    assert await axe_violations(page) == []
    await screenshot(page, "pipeline")


async def test_the_pipeline_is_for_technologists(seeded: Seeded, sign_in: SignIn) -> None:
    for role in ("specialist", "admin", "teacher"):
        page = await sign_in("/app/pipeline", role)
        response = await page.goto(f"{seeded.base_url}/app/pipeline")
        assert response is not None and response.status == 403, role
        export = await page.request.get(f"{seeded.base_url}/app/pipeline/tools.csv")
        assert export.status == 403, role


async def test_a_pipeline_export_names_only_known_tables(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in("/app/pipeline", "edtech")
    response = await page.request.get(f"{seeded.base_url}/app/pipeline/nothing.csv")
    assert response.status == 422 and "name: no table" in await response.text()
    text = await (await page.request.get(f"{seeded.base_url}/app/pipeline/stages.csv")).text()
    assert next(csv.reader(io.StringIO(text))) == ["stage", "status", "tools"]
