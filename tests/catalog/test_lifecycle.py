"""The lifecycle: guarded transitions, the pilot gates, history and the published events."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.catalog.helpers import (
    BASE,
    PRIVACY_PASS,
    approved_tool,
    move,
    outbox_events,
    register,
    register_with_dpa,
)
from tests.fixtures.auth import TokenFactory

STANDARD = {"framework": "NGSS", "code": "MS-PS1-2"}


async def test_documented_sequence_reaches_approved_for_pilot(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await approved_tool(api, auth, name="Sequence Tool")
    assert tool["status"] == "approved_for_pilot"
    history = (await api.get(f"{BASE}/tools/{tool['id']}/history", headers=auth("teacher"))).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "vetting"),
        ("vetting", "approved_for_pilot"),
    ]
    assert history[-1]["actor"] == "user-edtech" and history[-1]["reason"] == "to approved_for_pilot"
    events = await outbox_events(app, tool["id"])
    assert [e.type for e in events] == [
        "org.edtech.tool.registered.v1",
        "org.edtech.tool.status_changed.v1",
        "org.edtech.tool.status_changed.v1",
    ]
    last = events[-1]
    assert last.districtid == district and last.subject == f"tools/{tool['id']}"
    assert last.data["tool_id"] == tool["id"] and last.data["tool_name"] == "Sequence Tool"
    assert last.data["from_status"] == "vetting" and last.data["to_status"] == "approved_for_pilot"
    assert last.data["actor"] == "user-edtech" and last.data["reason"] == "to approved_for_pilot"
    assert last.data["changed_at"]
    registered = events[0]
    assert registered.data["status"] == "proposed" and registered.source == "/edtech/catalog"


async def test_invalid_transition_is_409_naming_allowed(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI
) -> None:
    tool = await register(api, auth)
    r = await move(api, auth, tool["id"], "adopted")
    assert r.status_code == 409
    problem = r.json()
    assert problem["allowed"] == ["rejected", "vetting"]
    assert "allowed: rejected, vetting" in problem["detail"]
    assert r.headers["content-type"] == "application/problem+json"
    assert len(await outbox_events(app, tool["id"])) == 1  # no event without its state change


async def test_no_standards_blocks_pilot_approval(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register_with_dpa(api, auth)
    await api.put(f"{BASE}/tools/{tool['id']}/checklist/privacy", json=PRIVACY_PASS, headers=auth("edtech"))
    await move(api, auth, tool["id"], "vetting")
    r = await move(api, auth, tool["id"], "approved_for_pilot", override_reason="please")
    assert r.status_code == 409
    assert "no standards alignment" in r.json()["detail"]
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()["status"] == "vetting"


async def test_privacy_failure_blocks_pilot_with_clear_409(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await register(api, auth, name="Leaky")
    tid = tool["id"]
    await api.post(f"{BASE}/tools/{tid}/standards", json=STANDARD, headers=auth("edtech"))
    r = await api.put(
        f"{BASE}/tools/{tid}/checklist/privacy",
        json={"result": "fail", "evidence": "sells student data to advertisers"},
        headers=auth("edtech"),
    )
    assert r.status_code == 200 and r.json()["state"] == "failed"
    await move(api, auth, tid, "vetting")
    r = await move(api, auth, tid, "approved_for_pilot", override_reason="board said yes")
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"].endswith("/privacy-failure") and problem["blocking"] == ["privacy"]
    assert "failed the data privacy point" in problem["detail"]
    assert "sells student data" in problem["detail"] and "never be piloted" in problem["detail"]


async def test_privacy_failure_after_approval_blocks_piloting_and_adoption(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await approved_tool(api, auth)
    tid = tool["id"]
    await api.put(
        f"{BASE}/tools/{tid}/checklist/privacy",
        json={"result": "fail", "evidence": "DPA revoked"},
        headers=auth("edtech"),
    )
    r = await move(api, auth, tid, "piloting")
    assert r.status_code == 409 and "privacy" in r.json()["detail"]
    assert (await move(api, auth, tid, "rejected", reason="privacy")).status_code == 200


async def test_pending_privacy_blocks_pilot_approval(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    await api.post(f"{BASE}/tools/{tool['id']}/standards", json=STANDARD, headers=auth("edtech"))
    await move(api, auth, tool["id"], "vetting")
    r = await move(api, auth, tool["id"], "approved_for_pilot")
    assert r.status_code == 409 and "privacy has not passed" in r.json()["detail"]


async def test_failed_point_blocks_unless_override_reason_which_is_stored(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await register_with_dpa(api, auth)
    tid = tool["id"]
    await api.post(f"{BASE}/tools/{tid}/standards", json=STANDARD, headers=auth("edtech"))
    await api.put(f"{BASE}/tools/{tid}/checklist/privacy", json=PRIVACY_PASS, headers=auth("edtech"))
    await api.put(
        f"{BASE}/tools/{tid}/checklist/sso",
        json={"result": "fail", "evidence": "no Clever support"},
        headers=auth("specialist"),
    )
    await move(api, auth, tid, "vetting")
    r = await move(api, auth, tid, "approved_for_pilot")
    assert r.status_code == 409 and "checklist points failed: sso" in r.json()["detail"]
    r = await move(
        api,
        auth,
        tid,
        "approved_for_pilot",
        reason="pilot anyway",
        override_reason="SSO promised for next release; pilot with manual accounts",
    )
    assert r.status_code == 200, r.text
    history = (await api.get(f"{BASE}/tools/{tid}/history", headers=auth("edtech"))).json()
    assert history[-1]["override_reason"].startswith("SSO promised")


async def test_transition_roles_and_bad_input(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/transitions", json={"to_status": "vetting"}, headers=auth("specialist")
    )
    assert r.status_code == 403
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/transitions", json={"to_status": "flying"}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to_status"
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/transitions",
        json={"to_status": "vetting", "extra": 1},
        headers=auth("edtech"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "extra"


async def test_full_lifecycle_to_retired_by_hand(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await approved_tool(api, auth)
    for status in ("piloting", "adopted", "sunsetting", "retired"):
        r = await move(api, auth, tool["id"], status)
        assert r.status_code == 200, r.text
    r = await move(api, auth, tool["id"], "adopted")
    assert r.status_code == 409 and r.json()["allowed"] == []
