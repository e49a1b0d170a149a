"""The pages' tests: the platform started as `make run` starts it (a subprocess of
`python -m services.embedded --demo` on a free port and a data directory of its own), a month of usage
seeded through the public APIs as a district's LMS and roster would send it, and Debian's Chromium
driven by Playwright. deploy/scripts/ensure-browser.sh installs Chromium and the npm packages once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.demo import DEMO_DISTRICT
from shared.testing import free_port, wait_for_port
from tests.analytics.dataset import send_events
from tests.analytics.roster_data import upload

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "tests" / "pages" / "js" / "node_modules"
SCREENSHOTS = ROOT / "var" / "screenshots"
"""Where the tests leave a screenshot of each page (README: "Pages"); not committed."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TAM_POSITIVE = {"teacher-ana": 10, "teacher-ben": 8, "teacher-chloe": 6}
"""Positive answers (of the TAM's 10 items) of the demo pilot's three teachers: 24 of 30, 80%."""


@dataclass
class Seeded:
    """The running platform and what the tests seeded into the demo district."""

    base_url: str
    month: str
    tools: dict[str, str]
    pilots: dict[str, str]

    async def token(self, *roles: str, subject: str = "pages-test") -> dict[str, str]:
        """Headers with a development token for the demo district."""
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            r = await client.post(
                "/auth/dev/token",
                json={"district_id": DEMO_DISTRICT, "roles": list(roles), "subject": subject},
            )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def api(self, path: str, *roles: str, **params: Any) -> Any:
        """The JSON of a GET on the platform's API with a token of `roles` (edtech by default)."""
        headers = await self.token(*(roles or ("edtech",)))
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            r = await client.get(path, params={k: v for k, v in params.items() if v}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="session")
def browser_installed() -> None:
    """Debian's Chromium and the pinned npm packages (axe-core, chart.js), installed once."""
    subprocess.run(["bash", str(ROOT / "deploy" / "scripts" / "ensure-browser.sh")], check=True)


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s platform on a free port: its base URL."""
    port = free_port()
    data = tmp_path_factory.mktemp("pages-var")
    log = (data / "platform.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.embedded", "--demo", "--port", str(port), "--data-dir", str(data)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port("127.0.0.1", port, timeout_s=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        text = (data / "platform.log").read_text(errors="replace")
        if "Traceback" in text:
            print(f"--- platform log (tail) ---\n{text[-4000:]}")


@pytest.fixture(scope="session")
async def seeded(embedded: str) -> Seeded:
    """The demo district with a month of usage: the small OneRoster roster, LMS events through an
    integration bound to Newsela (adopted, licensed by the demo), the pilot teachers' TAM answers."""
    async with httpx.AsyncClient(base_url=embedded, timeout=60) as client:
        edtech = await _dev_headers(client, "edtech")
        tools = await _until(lambda: _tool_ids(client, edtech))
        pilots = {
            p["title"]: p["id"]
            for p in (await _ok(client.get("/api/pilots/pilots", headers=edtech)))["items"]
        }
        await upload(client, edtech)
        integration = await _ok(
            client.post(
                "/api/analytics/integrations",
                json={"name": "LMS", "tool_id": tools["Newsela"]},
                headers=edtech,
            )
        )
        when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        await send_events(client, integration, _usage(when))
        instrument = await _ok(client.get("/api/pilots/instruments/TAM", headers=edtech))
        codes = [item["code"] for item in instrument["items"]]
        for teacher, positive in TAM_POSITIVE.items():
            answers = {code: 5 if i < positive else 2 for i, code in enumerate(codes)}
            await _ok(
                client.post(
                    f"/api/pilots/pilots/{pilots['Desmos in grade 7']}/surveys/TAM/responses",
                    json={"phase": "post", "answers": answers},
                    headers=await _dev_headers(client, "teacher", subject=teacher),
                )
            )
        await _pipeline_state(client, edtech, tools)
        month = f"{when.year:04d}-{when.month:02d}"
        seeded = Seeded(base_url=embedded, month=month, tools=tools, pilots=pilots)
        await _until(lambda: _counted(client, edtech, month, tools["Desmos Classroom"]))
        return seeded


RENEWAL_IN_DAYS = 20


async def _pipeline_state(client: httpx.AsyncClient, edtech: dict[str, str], tools: dict[str, str]) -> None:
    """What the pipeline shows besides the demo's stages: a review flag on Quizlet, a Desmos license
    renewing in 20 days, Newsela's retirement scheduled (30 days' notice)."""
    today = dt.datetime.now(dt.UTC).date()
    await _ok(
        client.post(
            f"/api/catalog/tools/{tools['Quizlet']}/flags",
            json={"kind": "review", "note": "Teachers report ads in the free tier"},
            headers=edtech,
        )
    )
    await _ok(
        client.post(
            f"/api/catalog/tools/{tools['Desmos Classroom']}/licenses",
            json={
                "seats": 120,
                "price_total": "360.00",
                "term_start": (today - dt.timedelta(days=100)).isoformat(),
                "term_end": (today + dt.timedelta(days=RENEWAL_IN_DAYS + 10)).isoformat(),
                "renewal_date": (today + dt.timedelta(days=RENEWAL_IN_DAYS)).isoformat(),
            },
            headers=edtech,
        )
    )
    await _ok(
        client.post(
            f"/api/catalog/tools/{tools['Newsela']}/retirement",
            json={
                "archive_location": "https://drive.example/newsela-archive",
                "teacher_ids": ["teacher-ana"],
            },
            headers=edtech,
        )
    )


def _usage(when: dt.datetime) -> list[dict[str, Any]]:
    """Logins, assignments and feature use of the roster's people within the hour before `when`."""
    events: list[dict[str, Any]] = []

    def add(user: str, kind: str, **extra: Any) -> None:
        at = when - dt.timedelta(seconds=len(events) + 1)
        events.append(
            {
                "event_id": f"pages-{len(events)}",
                "type": kind,
                "occurred_at": at.isoformat().replace("+00:00", "Z"),
                "user_id": user,
                **extra,
            }
        )

    for user, logins in (("s1", 3), ("s2", 1), ("s3", 2), ("s4", 1), ("t1", 2), ("t2", 1)):
        for _ in range(logins):
            add(user, "login")
    for user, started, submitted in (("s1", 2, 2), ("s2", 2, 1), ("s3", 1, 0)):
        for _ in range(started):
            add(user, "assignment_started")
        for _ in range(submitted):
            add(user, "assignment_submitted")
    for user, feature, times in (
        ("s1", "quiz", 8),
        ("s2", "quiz", 4),
        ("s3", "annotate", 2),
        ("t1", "print", 1),
    ):
        for _ in range(times):
            add(user, "feature_used", feature=feature)
    return events


async def _dev_headers(client: httpx.AsyncClient, *roles: str, subject: str = "pages-test") -> dict[str, str]:
    r = await client.post(
        "/auth/dev/token", json={"district_id": DEMO_DISTRICT, "roles": list(roles), "subject": subject}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _ok(call: Awaitable[httpx.Response]) -> Any:
    r = await call
    assert r.status_code in (200, 201), f"{r.status_code} {r.text}"
    return r.json()


async def _tool_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str] | None:
    tools = (await _ok(client.get("/api/catalog/tools", headers=headers)))["items"]
    pilots = (await _ok(client.get("/api/pilots/pilots", headers=headers)))["items"]
    statuses = {t["status"] for t in tools}
    if len(tools) < 4 or len(pilots) < 2 or "adopted" not in statuses:  # the demo is still loading
        return None
    return {t["name"]: t["id"] for t in tools}


async def _counted(
    client: httpx.AsyncClient, headers: dict[str, str], month: str, desmos: str
) -> bool | None:
    report = await _ok(client.get("/api/analytics/reports/monthly", params={"month": month}, headers=headers))
    fresh = report["freshness"]
    buy_in = [t for t in report["teachers"]["tools"] if t["tool_id"] == desmos and t["tam"]["answers"] == 30]
    logins = sum(r["logins"] for r in report["logins_by_grade"]["rows"])
    return (fresh["pending_events"] == 0 and fresh["groups_current"] and bool(buy_in) and logins > 0) or None


async def _until(check: Callable[[], Awaitable[Any]], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "the platform did not get there in time"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
async def browser(browser_installed: None) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


SignIn = Callable[..., Awaitable[Page]]


@pytest.fixture(scope="session")
def signed_in_states() -> dict[tuple[tuple[str, ...], str], Any]:
    """The cookies of each person (roles, subject) once the form has signed them in, for this run."""
    return {}


@pytest.fixture
async def sign_in(
    browser: Browser, seeded: Seeded, signed_in_states: dict[tuple[tuple[str, ...], str], Any]
) -> AsyncIterator[SignIn]:
    """Open a page as someone in a browser context of its own. The first time a person is asked for in
    the run, the browser is sent to the sign-in form, fills it and comes back; later, a new context
    starts with that person's session cookie (the form's round trips were a third of the tests' time)."""
    contexts = []

    async def open_as(path: str, *roles: str, subject: str = "pages-test", javascript: bool = True) -> Page:
        key = (tuple(sorted(roles)), subject)
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900},
            java_script_enabled=javascript,
            storage_state=signed_in_states.get(key),
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(seeded.base_url + path)
        if key in signed_in_states:
            assert "/auth/login" not in page.url, page.url  # the session is still good
            return page
        assert "/auth/login" in page.url, page.url  # no session yet: sent to sign in
        await page.fill("#district_id", DEMO_DISTRICT)
        for box in await page.query_selector_all("input[name=roles]"):
            value = await box.get_attribute("value")
            await box.set_checked(value in roles)
        await page.fill("#subject", subject)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        signed_in_states[key] = await context.storage_state()
        return page

    yield open_as
    for context in contexts:
        await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is."""
    await page.add_script_tag(path=str(NODE_MODULES / "axe-core" / "axe.min.js"))
    result = await page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


async def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
