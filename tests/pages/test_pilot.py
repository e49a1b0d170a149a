"""A pilot's page in Chromium (edtech, specialist; a teacher only their own): schedule, time-on-task,
TTIS and TAM, errors and their patterns, usage, the report and the decision, from the pilots API."""

from __future__ import annotations

from tests.pages.conftest import Seeded, SignIn, axe_violations, screenshot
from tests.pages.test_dashboard import chart, csv_rows, text

RUNNING = "Desmos in grade 7"
DECIDED = "Newsela in grade 7 ELA"


async def test_a_pilots_page_draws_its_figures_from_the_api(seeded: Seeded, sign_in: SignIn) -> None:
    pilot_id = seeded.pilots[RUNNING]
    page = await sign_in("/app/pilots", "edtech")
    async with page.expect_navigation():
        await page.click(f"a[href='/app/pilots/{pilot_id}']")
    assert await page.inner_text("h1") == RUNNING
    base = f"/api/pilots/pilots/{pilot_id}"
    report = await seeded.api(f"{base}/report")
    schedule = (await seeded.api(f"{base}/schedule", limit=500))["items"]

    drawn = await chart(page, "schedule-status")
    assert drawn["labels"] == ["done", "due", "missed"]
    assert drawn["datasets"][0]["data"] == [report["schedule"][s] for s in ("done", "due", "missed")]
    assert sum(drawn["datasets"][0]["data"]) == len(schedule)

    weeks = report["time_on_task"]["per_week"]
    assert (
        (await chart(page, "time-on-task"))["datasets"][0]["data"]
        == [w["time_on_task"] for w in weeks]
        == [0.8]
    )

    [post] = [t for t in report["tam"] if t["phase"] == "post"]
    drawn = await chart(page, "tam")
    assert drawn["labels"][0] == "post · overall"
    assert drawn["datasets"][0]["data"][0] == post["overall"]["share_positive"] == 0.8
    assert drawn["datasets"][1]["data"][0] == post["buy_in_target"] == 0.85
    tam_csv = await csv_rows(page, "tam")
    assert (tam_csv[0]["answers"], tam_csv[0]["positive"]) == (
        text(post["overall"]["answers"]),
        text(post["overall"]["positive"]),
    )

    errors = await csv_rows(page, "errors")
    assert [(e["what_failed"], e["severity"], e["class_period"]) for e in errors] == [
        ("activity would not load", "medium", "3")
    ]
    usage = await csv_rows(page, "usage")
    assert [u["teacher_id"] for u in usage] == [t["teacher_id"] for t in report["usage"]["teachers"]]
    assert "No decision yet" in await page.inner_text("#figure-decision")
    assert await axe_violations(page) == []
    await screenshot(page, "pilot")


async def test_a_decided_pilot_shows_its_decision_to_a_specialist(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/pilots/{seeded.pilots[DECIDED]}", "specialist")
    assert await page.inner_text("h1") == DECIDED
    assert "Decision: adopt" in await page.inner_text("#figure-decision")


async def test_a_teacher_sees_only_their_own_pilots(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in("/app/", "teacher", subject="teacher-ana")
    assert page.url == f"{seeded.base_url}/app/pilots"  # the first page a teacher's role leads to
    listed = await page.inner_text("#table-pilots tbody")
    assert RUNNING in listed and DECIDED in listed
    response = await page.goto(f"{seeded.base_url}/app/pilots/{seeded.pilots[RUNNING]}")
    assert response is not None and response.status == 200
    assert await page.query_selector("#table-usage") is None  # the report is the staff's
    assert "for the district's staff" in await page.inner_text("#figure-decision")
    assert await axe_violations(page) == []
    await screenshot(page, "pilot-teacher")

    other = await sign_in("/app/pilots", "teacher", subject="teacher-zed")
    assert "No figures for this selection." in await other.inner_text("#table-pilots tbody")
    response = await other.goto(f"{seeded.base_url}/app/pilots/{seeded.pilots[RUNNING]}")
    assert response is not None and response.status in (403, 404)
    assert await other.inner_text("h1") in ("Not available to you", "The data could not be read")
    export = await other.request.get(f"{seeded.base_url}/app/pilots/{seeded.pilots[RUNNING]}/schedule.csv")
    assert export.status in (403, 404)
