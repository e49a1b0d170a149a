"""Standards alignment: validated CCSS and NGSS codes, state codes with a jurisdiction."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.catalog.helpers import BASE, approved_tool, register
from tests.fixtures.auth import TokenFactory


@pytest.mark.parametrize(
    ("framework", "code", "stored"),
    [
        ("CCSS", "CCSS.MATH.CONTENT.6.RP.A.1", "CCSS.MATH.CONTENT.6.RP.A.1"),
        ("CCSS", "ccss.ela-literacy.rl.5.2", "CCSS.ELA-LITERACY.RL.5.2"),
        ("CCSS", "CCSS.MATH.PRACTICE.MP1", "CCSS.MATH.PRACTICE.MP1"),
        ("NGSS", "MS-PS1-2", "MS-PS1-2"),
        ("NGSS", "K-ESS2-1", "K-ESS2-1"),
        ("NGSS", "hs-ls1-1", "HS-LS1-1"),
    ],
)
async def test_valid_codes_are_stored(
    api: httpx.AsyncClient, auth: TokenFactory, framework: str, code: str, stored: str
) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/standards",
        json={"framework": framework, "code": code},
        headers=auth("edtech"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["code"] == stored and r.json()["framework"] == framework
    listed = await api.get(f"{BASE}/tools/{tool['id']}/standards", headers=auth("teacher"))
    assert [a["code"] for a in listed.json()["items"]] == [stored]


@pytest.mark.parametrize(
    ("framework", "code"),
    [
        ("CCSS", "MATH.6.RP.A.1"),
        ("CCSS", "CCSS.SCIENCE.1"),
        ("NGSS", "MS-XX1-2"),
        ("NGSS", "6-PS1-2"),
        ("NGSS", "CCSS.MATH.CONTENT.6.RP.A.1"),
    ],
)
async def test_malformed_codes_are_422_on_code(
    api: httpx.AsyncClient, auth: TokenFactory, framework: str, code: str
) -> None:
    tool = await register(api, auth)
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/standards",
        json={"framework": framework, "code": code},
        headers=auth("edtech"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "code"


async def test_state_codes_need_a_jurisdiction(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/standards"
    r = await api.post(url, json={"framework": "STATE", "code": "111.26(b)(4)(D)"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "jurisdiction"
    r = await api.post(
        url,
        json={"framework": "STATE", "code": "111.26(b)(4)(D)", "jurisdiction": "tx"},
        headers=auth("edtech"),
    )
    assert r.status_code == 201 and r.json()["jurisdiction"] == "TX"
    r = await api.post(
        url,
        json={"framework": "STATE", "code": "111.26(b)(4)(D)", "jurisdiction": "TX"},
        headers=auth("edtech"),
    )
    assert r.status_code == 409
    r = await api.post(url, json={"framework": "ISTE", "code": "1.1"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "framework"


async def test_last_alignment_stays_once_approved(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await approved_tool(api, auth)
    alignments = (await api.get(f"{BASE}/tools/{tool['id']}/standards", headers=auth("edtech"))).json()[
        "items"
    ]
    r = await api.delete(f"{BASE}/tools/{tool['id']}/standards/{alignments[0]['id']}", headers=auth("edtech"))
    assert r.status_code == 409


async def test_remove_alignment_while_vetting(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    a = (
        await api.post(
            f"{BASE}/tools/{tool['id']}/standards",
            json={"framework": "NGSS", "code": "K-ESS2-1"},
            headers=auth("edtech"),
        )
    ).json()
    r = await api.delete(f"{BASE}/tools/{tool['id']}/standards/{a['id']}", headers=auth("edtech"))
    assert r.status_code == 204
    assert (await api.get(f"{BASE}/tools/{tool['id']}/standards", headers=auth("edtech"))).json()[
        "items"
    ] == []


async def test_roles_and_other_districts(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    body = {"framework": "NGSS", "code": "K-ESS2-1"}
    assert (
        await api.post(f"{BASE}/tools/{tool['id']}/standards", json=body, headers=auth("teacher"))
    ).status_code == 403
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (
        await api.post(f"{BASE}/tools/{tool['id']}/standards", json=body, headers=other)
    ).status_code == 404
    assert (await api.get(f"{BASE}/tools/{tool['id']}/standards", headers=other)).status_code == 404
    a = (await api.post(f"{BASE}/tools/{tool['id']}/standards", json=body, headers=auth("edtech"))).json()
    r = await api.delete(f"{BASE}/tools/{tool['id']}/standards/{a['id']}", headers=other)
    assert r.status_code == 404
