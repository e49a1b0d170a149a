"""The six-point checklist gates every rollout; nothing enters classrooms without testing (DOMAIN.md §1,
§2): a rollout needs every point passed (a failure other than privacy only with a recorded override,
who and why) and a pilot's adopt decision for the tool."""

from __future__ import annotations

from typing import Any

import httpx

from tests.catalog.helpers import PASSES
from tests.domain.helpers import CATALOG, PILOTS, approved_tool, ok, pilot_plan
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


def rollout(tool_id: str, school: str, **extra: Any) -> dict[str, Any]:
    """A rollout of a tool to a whole school (in fall 2026 unless `semester` says otherwise)."""
    return {"tool_id": tool_id, "scope": "school", "scope_id": school, "semester": "2026-fall"} | extra


async def adopted_by_pilot(platform: Platform, auth: TokenFactory, tool: dict[str, Any]) -> None:
    """Pilot the tool through the pilots API and decide to adopt it; the catalog hears it by events."""
    edtech = auth("edtech")
    pilot = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )
    for step in ("start", "evaluate"):
        await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/{step}", headers=edtech))
    await ok(
        await platform.pilots.post(
            f"{PILOTS}/pilots/{pilot['id']}/decision",
            json={"decision": "adopt", "rationale": "time-on-task up, teachers keen"},
            headers=edtech,
        )
    )
    await platform.settle()


async def record(catalog: httpx.AsyncClient, auth: TokenFactory, tool_id: str, point: str, body: Any) -> None:
    """Record one checklist point as the edtech."""
    await ok(
        await catalog.put(f"{CATALOG}/tools/{tool_id}/checklist/{point}", json=body, headers=auth("edtech"))
    )


async def test_an_untested_tool_with_pending_points_is_not_rolled_out(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth)
    r = await platform.catalog.post(
        f"{CATALOG}/rollouts", json=rollout(tool["id"], "lincoln-ms"), headers=edtech
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/rollout-gate")
    assert "approved_for_pilot" in r.json()["detail"]

    for status in ("piloting", "adopted"):  # adopted by hand: no pilot ever decided
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": status}, headers=edtech
            )
        )
    r = await platform.catalog.post(
        f"{CATALOG}/rollouts", json=rollout(tool["id"], "lincoln-ms"), headers=edtech
    )
    assert r.status_code == 409, r.text
    blocking = r.json()["blocking"]
    assert blocking[0].startswith("no pilot decided to adopt it")
    assert blocking[1] == "checklist points not passed yet: sso, accessibility, cost, evidence, mobile"
    assert (await ok(await platform.catalog.get(f"{CATALOG}/rollouts", headers=edtech)))["total"] == 0


async def test_a_piloted_adopted_and_vetted_tool_is_rolled_out_with_its_override_recorded(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech", subject="edtech-jo")
    tool = await approved_tool(platform.catalog, auth)
    await platform.settle()
    await adopted_by_pilot(platform, auth, tool)
    assert (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}", headers=edtech)))[
        "status"
    ] == "adopted"

    r = await platform.catalog.post(
        f"{CATALOG}/rollouts", json=rollout(tool["id"], "lincoln-ms"), headers=edtech
    )
    assert r.status_code == 409
    assert r.json()["blocking"] == [
        "checklist points not passed yet: sso, accessibility, cost, evidence, mobile"
    ]

    for point, body in PASSES.items():
        await record(platform.catalog, auth, tool["id"], point, body)
    await record(
        platform.catalog, auth, tool["id"], "accessibility", {"result": "fail", "evidence": "no alt text"}
    )
    r = await platform.catalog.post(
        f"{CATALOG}/rollouts", json=rollout(tool["id"], "lincoln-ms"), headers=edtech
    )
    assert r.status_code == 409
    assert "checklist points failed: accessibility" in r.json()["detail"]

    planned = await ok(
        await platform.catalog.post(
            f"{CATALOG}/rollouts",
            json=rollout(
                tool["id"], "lincoln-ms", checklist_override_reason="vendor fixes alt text by August"
            ),
            headers=edtech,
        ),
        201,
    )
    assert (
        planned["checklist_override_reason"],
        planned["checklist_override_by"],
        planned["checklist_override_points"],
    ) == ("vendor fixes alt text by August", "edtech-jo", ["accessibility"])
    approved = await ok(
        await platform.catalog.post(f"{CATALOG}/rollouts/{planned['id']}/approve", json={}, headers=edtech)
    )
    assert approved["status"] == "approved"

    second = await ok(
        await platform.catalog.post(
            f"{CATALOG}/rollouts",
            json=rollout(tool["id"], "grant-hs", checklist_override_reason="same fix"),
            headers=edtech,
        ),
        201,
    )
    await record(
        platform.catalog, auth, tool["id"], "privacy", {"result": "fail", "evidence": "DPA revoked by vendor"}
    )
    r = await platform.catalog.post(
        f"{CATALOG}/rollouts/{second['id']}/approve",
        json={"checklist_override_reason": "we need it"},
        headers=edtech,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/privacy-failure")
