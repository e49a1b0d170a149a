"""The thin slice through the whole platform, over HTTP through the gateway with dev tokens:
register and vet a tool in catalog, create and start a pilot for it in pilots; catalog consumes
`pilot-started` and moves the tool to `piloting`; analytics consumes it and records the pilot; an LMS
posts a signed login and analytics' counting worker brings it to the dashboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from services.demo import dev_headers
from tests.analytics.dataset import send_events


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout_s: float = 30.0, what: str = "condition"
) -> Any:
    """Poll `probe` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s}s")
        await asyncio.sleep(0.1)


async def approved_tool(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    """Register a tool (its vendor's data privacy agreement signed) and take it through vetting to
    `approved_for_pilot`."""
    r = await client.post(
        "/api/catalog/vendors", json={"name": f"{name} Inc", "dpa_signed": True}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/catalog/tools",
        json={"name": name, "subjects": ["math"], "grade_bands": ["6-8"], "vendor_id": r.json()["id"]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    tool = r.json()
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            f"/api/catalog/tools/{tool['id']}/standards",
            {"framework": "CCSS", "code": "CCSS.MATH.CONTENT.6.RP.A.1"},
        ),
        (
            "PUT",
            f"/api/catalog/tools/{tool['id']}/checklist/privacy",
            {
                "result": "pass",
                "evidence": "Signed DPA on file",
                "evidence_url": "https://vendor.example/privacy",
            },
        ),
        ("POST", f"/api/catalog/tools/{tool['id']}/transitions", {"to_status": "vetting"}),
        ("POST", f"/api/catalog/tools/{tool['id']}/transitions", {"to_status": "approved_for_pilot"}),
    ]
    for method, path, body in steps:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    return tool


async def run_slice(client: httpx.AsyncClient, district: str) -> dict[str, Any]:
    """Run the slice; returns the tool and pilot it made."""
    edtech = await dev_headers(client, district, "edtech")
    tool = await approved_tool(client, edtech, "GeoGebra")

    r = await client.post(
        "/api/pilots/pilots",
        headers=edtech,
        json={
            "tool_id": tool["id"],
            "title": "GeoGebra in grade 6",
            "goals": ["ratio reasoning"],
            "teacher_ids": ["t1", "t2", "t3"],
            "start_date": "2026-03-02",
            "classes": [{"name": "Math 6", "period": "3"}],
        },
    )
    assert r.status_code == 201, r.text
    pilot = r.json()
    assert pilot["status"] == "planned"
    r = await client.post(f"/api/pilots/pilots/{pilot['id']}/start", headers=edtech)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"

    async def tool_piloting() -> dict[str, Any] | None:
        r = await client.get(f"/api/catalog/tools/{tool['id']}", headers=edtech)
        return r.json() if r.json()["status"] == "piloting" else None

    await eventually(tool_piloting, what="catalog moving the tool to piloting")
    history = (await client.get(f"/api/catalog/tools/{tool['id']}/history", headers=edtech)).json()
    assert [h["to_status"] for h in history][-1] == "piloting"
    assert pilot["id"] in (history[-1]["reason"] or "")

    async def analytics_knows_pilot() -> dict[str, Any] | None:
        r = await client.get(f"/api/analytics/pilots/{pilot['id']}/usage", headers=edtech)
        return r.json() if r.status_code == 200 else None

    usage = await eventually(analytics_knows_pilot, what="analytics recording the pilot")
    assert str(usage.get("tool_id")) == tool["id"]
    await login_is_counted(client, edtech, tool)
    return {"tool": tool, "pilot": pilot}


async def login_is_counted(client: httpx.AsyncClient, edtech: dict[str, str], tool: dict[str, Any]) -> None:
    """An LMS posts a signed login; the service's own counting worker brings it to the dashboard."""
    r = await client.post(
        "/api/analytics/integrations", json={"name": "LMS", "tool_id": tool["id"]}, headers=edtech
    )
    assert r.status_code == 201, r.text
    integration = r.json()
    now = dt.datetime.now(dt.UTC)
    login = {"event_id": f"login-{uuid.uuid4().hex}", "type": "login", "occurred_at": now.isoformat()}
    await send_events(client, integration, [{**login, "user_id": "t1"}])
    day = now.date().isoformat()

    async def counted() -> dict[str, Any] | None:
        r = await client.get(
            "/api/analytics/dashboards/logins",
            params={"from": day, "to": day, "tool_id": tool["id"]},
            headers=edtech,
        )
        report: dict[str, Any] = r.json()
        return report if report["rows"] and report["freshness"]["pending_events"] == 0 else None

    report = await eventually(counted, what="the analytics workers counting a posted login")
    assert [row["logins"] for row in report["rows"]] == [1]
