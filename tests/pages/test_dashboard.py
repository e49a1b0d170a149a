"""The monthly dashboard in Chromium: signed in through the form, its charts drawn from the seeded
month with the API's numbers, filters that change them, CSV exports equal to the API, a 403 page for
a teacher, no serious or critical axe-core violation, a screenshot."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urljoin

import httpx
from playwright.async_api import Page

from tests.pages.conftest import Seeded, SignIn, axe_violations, screenshot


async def chart(page: Page, name: str) -> dict[str, Any]:
    """What Chart.js drew on a figure's canvas: its labels and each data set's label and data."""
    drawn: dict[str, Any] = await page.evaluate(
        """id => { const c = Chart.getChart(document.getElementById(id));
                   return c && {labels: c.data.labels,
                                 datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}; }""",
        f"chart-{name}",
    )
    return drawn


async def csv_rows(page: Page, name: str) -> list[dict[str, str]]:
    """A table's CSV export, fetched with the page's own session (the link on the page)."""
    href = await page.get_attribute(f"#figure-{name} .csv a", "href")
    assert href is not None
    response = await page.request.get(urljoin(page.url, href))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(await response.text())))


def text(value: Any) -> str:
    """A JSON value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def test_the_dashboard_draws_the_months_figures_from_the_api(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/dashboard?month={seeded.month}", "admin")
    assert page.url.endswith(f"/app/dashboard?month={seeded.month}")
    report = await seeded.api("/api/analytics/reports/monthly", "admin", month=seeded.month)
    assert await page.inner_text("h1") == f"Monthly dashboard: {seeded.month}"

    grades = report["logins_by_grade"]["rows"]
    assert sum(r["logins"] for r in grades) > 0  # the seeded logins are there
    drawn = await chart(page, "logins-by-grade")
    assert drawn["labels"] == [r["group"] for r in grades]
    assert drawn["datasets"][0] == {"label": "Logins", "data": [r["logins"] for r in grades]}
    assert drawn["datasets"][1]["data"] == [r["active_users"] for r in grades]
    subjects = report["logins_by_subject"]["rows"]
    assert (await chart(page, "logins-by-subject"))["datasets"][0]["data"] == [r["logins"] for r in subjects]

    submissions = report["submissions"]
    drawn = await chart(page, "submissions")
    rows = [submissions["overall"], *submissions["by_subject"]]
    assert drawn["labels"] == [r["subject"] for r in rows]
    assert drawn["datasets"][0]["data"] == [r["rate"] for r in rows]
    assert drawn["datasets"][1]["data"] == [r["baseline_rate"] for r in rows]
    assert submissions["overall"]["started"] == 5 and submissions["overall"]["submitted"] == 3

    licenses = report["licenses"]["licenses"]
    [newsela] = [row for row in licenses if row["tool_name"] == "Newsela"]
    assert newsela["seats_active"] > 0 and newsela["dormant_seats"] == 500 - newsela["seats_active"]
    drawn = await chart(page, "licenses")
    assert drawn["datasets"][0]["data"] == [r["seats_active"] for r in licenses]
    assert drawn["datasets"][1]["data"] == [r["dormant_seats"] for r in licenses]
    money = await page.inner_text("#figure-licenses .note")
    assert f"${report['licenses']['dormant_cost']:,.2f}" in money

    teachers = report["teachers"]
    drawn = await chart(page, "teachers")
    assert drawn["datasets"][0]["data"] == [t["utilization"] for t in teachers["tools"]]
    assert (
        drawn["datasets"][1]["data"]
        == [0.3] * len(teachers["tools"])
        == [teachers["threshold"]] * len(teachers["tools"])
    )

    quarters = [(t["tool_name"], q) for t in teachers["tools"] for q in t["tam"]["quarters"]]
    drawn = await chart(page, "buy-in")
    assert drawn["datasets"][0]["data"] == [q["buy_in"] for _, q in quarters]
    assert [q["buy_in"] for name, q in quarters if name == "Desmos Classroom"] == [0.8]
    assert drawn["datasets"][1]["data"] == [0.85] * len(quarters)
    assert "against the 85% target" in await page.inner_text("#heading-buy-in")

    # the district's buy-in per quarter of the school year (the API's `buy_in`) against its 85% line
    district = report["buy_in"]
    assert district["buy_in"] == 0.8 and district["answers"] == 30  # the demo pilot's 24 of 30
    drawn = await chart(page, "district-buy-in")
    assert drawn["labels"] == [q["quarter"] for q in district["quarters"]] and drawn["labels"]
    assert drawn["datasets"][0] == {"label": "Buy-in", "data": [q["buy_in"] for q in district["quarters"]]}
    assert drawn["datasets"][1] == {"label": "Target", "data": [0.85] * len(district["quarters"])}
    assert "against the 85% target" in await page.inner_text("#heading-district-buy-in")
    assert "80.0% positive answers" in await page.inner_text("#figure-district-buy-in .note")

    # the heatmap is a table: one row per feature, the week cells shaded, rarely used features marked
    features = report["features"]["features"]
    heat_rows = await page.query_selector_all("#table-features tbody tr")
    assert len(heat_rows) == len(features) == 3
    dusty = await page.inner_text("#table-features tr.dust th")
    assert dusty.startswith("print")  # one use against 12 of quiz
    # each figure says how fresh its data is
    assert len(await page.query_selector_all("section.figure .freshness")) == 9
    await screenshot(page, "dashboard")


async def test_filters_change_the_figures(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/dashboard?month={seeded.month}", "edtech")
    before = await chart(page, "logins-by-grade")
    # the school filter lists the roster's schools (the analytics API's), by name
    schools = (await seeded.api("/api/analytics/rosters/schools", "admin"))["items"]
    assert schools == [
        {"sourced_id": "sch-2", "name": "Adams Middle"},
        {"sourced_id": "sch-1", "name": "Lincoln Elementary"},
    ]
    options = await page.eval_on_selector_all(
        "#school_id option", "os => os.map(o => [o.value, o.textContent])"
    )
    assert options == [["", "Every school"], *([s["sourced_id"], s["name"]] for s in schools)]
    assert await page.inner_text("label[for=school_id]") == "School"
    await page.select_option("#school_id", label="Lincoln Elementary")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert "school_id=sch-1" in page.url
    report = await seeded.api("/api/analytics/reports/monthly", month=seeded.month, school_id="sch-1")
    after = await chart(page, "logins-by-grade")
    assert after["datasets"][0]["data"] == [r["logins"] for r in report["logins_by_grade"]["rows"]]
    assert sum(after["datasets"][0]["data"]) < sum(before["datasets"][0]["data"])
    assert await page.eval_on_selector("#school_id", "s => s.value") == "sch-1"  # kept selected
    assert "Lincoln Elementary" in await page.inner_text("p.period")

    await page.select_option("#school_id", value="")
    await page.select_option("#tool_id", label="Desmos Classroom")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    report = await seeded.api(
        "/api/analytics/reports/monthly", month=seeded.month, tool_id=seeded.tools["Desmos Classroom"]
    )
    assert report["logins_by_grade"]["rows"] == []  # the usage came through Newsela's integration
    assert (await chart(page, "logins-by-grade"))["datasets"][0]["data"] == []
    assert "No figures for this selection." in await page.inner_text("#table-logins-by-grade")

    # a month with nothing: every count is empty, and the page says which month it shows
    await page.goto(f"{seeded.base_url}/app/dashboard?month=2020-01")
    assert await page.inner_text("h1") == "Monthly dashboard: 2020-01"
    assert (await chart(page, "logins-by-grade"))["labels"] == []


async def test_every_csv_export_holds_the_apis_numbers(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/dashboard?month={seeded.month}", "edtech")
    report = await seeded.api("/api/analytics/reports/monthly", month=seeded.month)
    grades = await csv_rows(page, "logins-by-grade")
    assert grades == [
        {k: text(r[k]) for k in ("period_start", "group", "logins", "active_users", "logins_per_user")}
        for r in report["logins_by_grade"]["rows"]
    ]
    subm = report["submissions"]
    assert [
        (r["subject"], r["started"], r["submitted"], r["rate"]) for r in await csv_rows(page, "submissions")
    ] == [
        (r["subject"], text(r["started"]), text(r["submitted"]), text(r["rate"]))
        for r in [subm["overall"], *subm["by_subject"]]
    ]
    licenses = await csv_rows(page, "licenses")
    assert [
        {k: r[k] for k in ("tool_id", "seats_purchased", "seats_active", "dormant_seats", "dormant_cost")}
        for r in licenses
    ] == [
        {
            k: text(r[k])
            for k in ("tool_id", "seats_purchased", "seats_active", "dormant_seats", "dormant_cost")
        }
        for r in report["licenses"]["licenses"]
    ]
    teachers = await csv_rows(page, "teachers")
    assert [(r["tool_id"], r["utilization"]) for r in teachers] == [
        (t["tool_id"], text(t["utilization"])) for t in report["teachers"]["tools"]
    ]
    district = await csv_rows(page, "district-buy-in")
    assert [(r["quarter"], r["respondents"], r["positive"], r["buy_in"], r["target"]) for r in district] == [
        (q["quarter"], text(q["respondents"]), text(q["positive"]), text(q["buy_in"]), text(q["target"]))
        for q in report["buy_in"]["quarters"]
    ]
    buy_in = await csv_rows(page, "buy-in")
    assert [(r["tool_id"], r["quarter"], r["buy_in"], r["target"]) for r in buy_in] == [
        (t["tool_id"], q["quarter"], text(q["buy_in"]), text(q["target"]))
        for t in report["teachers"]["tools"]
        for q in t["tam"]["quarters"]
    ]
    features = await csv_rows(page, "features")
    weeks = report["features"]["weeks"]
    assert [[r["feature"], *(r[f"week_{w}"] for w in weeks), r["total_events"]] for r in features] == [
        [f["feature"], *(text(c["events"]) for c in f["cells"]), text(f["total_events"])]
        for f in report["features"]["features"]
    ]
    assert [(r["tool_id"], r["week"], r["errors"]) for r in await csv_rows(page, "errors")] == [
        (e["tool_id"], e["week"], text(e["errors"])) for e in report["errors"]
    ]


async def test_a_teacher_cannot_open_the_dashboard(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in("/app/dashboard", "teacher", subject="teacher-ana")
    response = await page.goto(f"{seeded.base_url}/app/dashboard")
    assert response is not None and response.status == 403
    assert await page.inner_text("h1") == "Not available to you"
    assert await axe_violations(page) == []  # the 403 page is a page like the others
    csv_response = await page.request.get(f"{seeded.base_url}/app/dashboard/licenses.csv")
    assert csv_response.status == 403


async def test_without_a_session_the_page_sends_to_sign_in_and_bad_filters_are_named(seeded: Seeded) -> None:
    async with httpx.AsyncClient(base_url=seeded.base_url) as client:
        r = await client.get("/app/dashboard?month=2026-03")
        assert r.status_code == 303
        assert r.headers["location"] == "/auth/login?return_to=%2Fapp%2Fdashboard%3Fmonth%3D2026-03"


async def test_bad_filters_are_422_naming_the_field(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in("/app/dashboard?month=2026-13", "admin")
    response = await page.goto(f"{seeded.base_url}/app/dashboard?month=2026-13")
    assert response is not None and response.status == 422
    assert (await page.inner_text(".problem")).startswith("month:")
    response = await page.goto(f"{seeded.base_url}/app/dashboard?tool_id=nope")
    assert response is not None and response.status == 422
    assert (await page.inner_text(".problem")).startswith("tool_id:")


async def test_the_dashboard_meets_wcag_and_prints(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/dashboard?month={seeded.month}", "admin")
    assert await axe_violations(page) == []
    await page.emulate_media(media="print")
    assert await page.is_hidden("form.filters") and await page.is_hidden("#figure-licenses .csv")
    assert await page.is_visible("#table-licenses")
    await screenshot(page, "dashboard-print")


async def test_without_javascript_the_tables_hold_every_figure(seeded: Seeded, sign_in: SignIn) -> None:
    page = await sign_in(f"/app/dashboard?month={seeded.month}", "admin", javascript=False)
    assert await page.evaluate("typeof window.Chart") == "undefined"  # no script of the page ran
    report = await seeded.api("/api/analytics/reports/monthly", "admin", month=seeded.month)
    grades = report["logins_by_grade"]["rows"]
    cells = await page.query_selector_all("#table-logins-by-grade tbody td[data-key=logins]")
    assert [await c.inner_text() for c in cells] == [f"{r['logins']:,}" for r in grades]
    rate = await page.inner_text("#table-submissions tbody tr:first-child td[data-key=rate]")
    assert rate == f"{report['submissions']['overall']['rate'] * 100:.1f}%"
    dormant = await page.inner_text("#table-licenses tbody tr:first-child td[data-key=dormant_cost]")
    assert dormant == f"${report['licenses']['licenses'][0]['dormant_cost']:,.2f}"
    # the filters are a plain form: they work without a script too
    await page.select_option("#school_id", label="Lincoln Elementary")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert "school_id=sch-1" in page.url
