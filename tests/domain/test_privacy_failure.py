"""A tool that fails privacy can never be piloted (DOMAIN.md §1): a privacy failure recorded after
approval takes the tool out of `approved_for_pilot` with its lifecycle event, and pilots, following the
catalog's events, refuses to plan or start a pilot of it."""

from __future__ import annotations

from tests.domain.helpers import CATALOG, PILOTS, approved_tool, ok, pilot_plan
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform

PRIVACY_FAIL = {"result": "fail", "evidence": "sells student data to advertisers"}


async def test_a_privacy_failure_after_approval_withdraws_the_tool_and_pilots_refuse_it(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth)
    other = await approved_tool(platform.catalog, auth)
    await platform.settle()
    planned = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )

    for failed in (tool, other):
        await ok(
            await platform.catalog.put(
                f"{CATALOG}/tools/{failed['id']}/checklist/privacy", json=PRIVACY_FAIL, headers=edtech
            )
        )
    moved = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}", headers=edtech))
    assert moved["status"] == "vetting"
    last = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/history", headers=edtech))
    assert [(h["from_status"], h["to_status"]) for h in last][-1] == ("approved_for_pilot", "vetting")
    assert "failed the data privacy point" in last[-1]["reason"]
    await platform.settle()

    r = await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(other["id"]), headers=edtech)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["tool_status"] == "vetting"
    assert "failed the data privacy point" in problem["detail"]

    r = await platform.pilots.post(f"{PILOTS}/pilots/{planned['id']}/start", headers=edtech)
    assert r.status_code == 409, r.text
    assert "cannot start" in r.json()["detail"] and "data privacy" in r.json()["detail"]
    pilot = await ok(await platform.pilots.get(f"{PILOTS}/pilots/{planned['id']}", headers=edtech))
    assert pilot["status"] == "planned"

    copy = await ok(await platform.pilots.get(f"{PILOTS}/tools", headers=edtech))
    assert {t["id"]: t["status"] for t in copy["items"]} == {tool["id"]: "vetting", other["id"]: "vetting"}


async def test_a_privacy_failure_of_a_tool_in_classrooms_calls_for_immediate_review(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth)
    await platform.settle()
    pilot = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )
    await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/start", headers=edtech))
    await platform.settle()
    assert (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}", headers=edtech)))[
        "status"
    ] == "piloting"

    await ok(
        await platform.catalog.put(
            f"{CATALOG}/tools/{tool['id']}/checklist/privacy", json=PRIVACY_FAIL, headers=edtech
        )
    )
    flags = (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/flags", headers=edtech)))[
        "items"
    ]
    assert [(f["kind"], f["source"]) for f in flags] == [("review", "privacy_failed")]
    assert "immediate review" in flags[0]["note"]
    r = await platform.catalog.post(
        f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": "adopted"}, headers=edtech
    )
    assert r.status_code == 409 and r.json()["blocking"] == ["privacy"]
