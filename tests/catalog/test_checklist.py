"""The six-point checklist: results, evidence, reviewer and time, ESSA tier, overall state, roles."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from shared.events import OutcomeEvidenceAttached
from tests.catalog.helpers import BASE, PRIVACY_PASS, deliver, message, register, register_with_dpa
from tests.fixtures.auth import TokenFactory

POINTS = ["privacy", "sso", "accessibility", "cost", "evidence", "mobile"]


async def test_checklist_starts_with_six_pending_points(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("teacher"))
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "pending"
    assert [p["point"] for p in body["points"]] == POINTS
    assert all(p["result"] == "pending" and p["reviewer"] is None for p in body["points"])


async def test_recording_keeps_evidence_reviewer_and_time(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    r = await api.put(
        f"{BASE}/tools/{tool['id']}/checklist/accessibility",
        json={"result": "pass", "evidence": "VPAT 2.4 reviewed", "evidence_url": "https://x.example/vpat"},
        headers=auth("specialist", subject="spec-1"),
    )
    assert r.status_code == 200, r.text
    point = next(p for p in r.json()["points"] if p["point"] == "accessibility")
    assert point["result"] == "pass" and point["evidence"] == "VPAT 2.4 reviewed"
    assert point["evidence_url"] == "https://x.example/vpat"
    assert point["reviewer"] == "spec-1" and point["reviewed_at"]
    r = await api.put(
        f"{BASE}/tools/{tool['id']}/checklist/accessibility",
        json={"result": "fail", "evidence": "keyboard traps"},
        headers=auth("edtech"),
    )
    point = next(p for p in r.json()["points"] if p["point"] == "accessibility")
    assert point["result"] == "fail" and point["reviewer"] == "user-edtech" and point["evidence_url"] is None


async def test_evidence_point_records_essa_tier(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/checklist"
    r = await api.put(
        f"{url}/evidence", json={"result": "pass", "evidence": "RCT 2021"}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "essa_tier"
    r = await api.put(
        f"{url}/evidence", json={"result": "pass", "evidence": "RCT", "essa_tier": 5}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "essa_tier"
    r = await api.put(
        f"{url}/sso", json={"result": "pass", "evidence": "Clever", "essa_tier": 1}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "essa_tier"
    r = await api.put(
        f"{url}/evidence",
        json={"result": "pass", "evidence": "RCT 2021", "essa_tier": 1},
        headers=auth("edtech"),
    )
    assert r.status_code == 200
    assert next(p for p in r.json()["points"] if p["point"] == "evidence")["essa_tier"] == 1


async def test_results_need_evidence_and_bad_input_names_field(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/checklist"
    r = await api.put(f"{url}/sso", json={"result": "pass"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evidence"
    r = await api.put(f"{url}/sso", json={"result": "maybe"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "result"
    r = await api.put(f"{url}/vibes", json={"result": "pass", "evidence": "x"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "point"
    r = await api.put(
        f"{url}/sso", json={"result": "pass", "evidence_url": "not a url"}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evidence_url"
    r = await api.put(f"{url}/sso", json={"result": "pending"}, headers=auth("edtech"))
    assert r.status_code == 200


async def test_overall_state_passed_and_failed_filterable(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register_with_dpa(api, auth)
    url = f"{BASE}/tools/{tool['id']}/checklist"
    for point in POINTS:
        body = {"result": "pass", "evidence": f"{point} ok"} | (
            {"essa_tier": 2} if point == "evidence" else {}
        )
        r = await api.put(f"{url}/{point}", json=body, headers=auth("edtech"))
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "passed"
    listed = await api.get(f"{BASE}/tools", params={"checklist_state": "passed"}, headers=auth("edtech"))
    assert [t["id"] for t in listed.json()["items"]] == [tool["id"]]
    r = await api.put(
        f"{url}/mobile", json={"result": "fail", "evidence": "breaks on phones"}, headers=auth("edtech")
    )
    assert r.json()["state"] == "failed"
    got = await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))
    assert got.json()["checklist_state"] == "failed"


async def test_roles_and_other_districts(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/checklist"
    assert (await api.put(f"{url}/privacy", json=PRIVACY_PASS, headers=auth("teacher"))).status_code == 403
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.put(f"{url}/privacy", json=PRIVACY_PASS, headers=other)).status_code == 404
    assert (await api.get(url, headers=other)).status_code == 404
    r = await api.get(url, headers=auth("edtech"))
    assert r.json()["points"][0]["result"] == "pending"


async def test_an_outcome_analysis_offered_as_evidence_passes_the_essa_point_with_its_tier(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    """analytics' outcome.evidence-attached (docs/events.md): the point records the tier and the link."""
    tool = await register(api, auth)
    analysis = uuid.uuid4()
    event = OutcomeEvidenceAttached(
        tool_id=uuid.UUID(tool["id"]),
        analysis_id=analysis,
        tier=3,
        finding="positive",
        summary="a statistically significant positive effect: g = 0.31 (95% CI 0.18 to 0.44), p = 0.000",
        link=f"https://edtech.district.example/api/analytics/outcomes/analyses/{analysis}",
        attached_by="edtech-1",
    )
    await deliver(app, message(event, district), times=2)
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("teacher"))).json()
    (point,) = [p for p in checklist["points"] if p["point"] == "evidence"]
    assert point["result"] == "pass" and point["essa_tier"] == 3
    assert point["evidence_url"] == event.link and "g = 0.31" in point["evidence"]
    assert point["reviewer"] == "analytics-service for edtech-1"
    # another district's event never touches this district's tool
    await deliver(app, message(event.model_copy(update={"tier": 4}), "some-other-district"))
    checklist = (await api.get(f"{BASE}/tools/{tool['id']}/checklist", headers=auth("teacher"))).json()
    assert [p["essa_tier"] for p in checklist["points"] if p["point"] == "evidence"] == [3]
