"""Tools and vendors: create, read, update, list with filters and pagination, roles, districts."""

from __future__ import annotations

import uuid

import httpx

from tests.catalog.helpers import BASE, register
from tests.fixtures.auth import TokenFactory


async def test_register_with_every_field_and_read_back(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    vendor = await api.post(
        f"{BASE}/vendors",
        json={"name": "Desmos Inc", "dpa_signed": True, "contact_email": "k12@desmos.example"},
        headers=auth("edtech"),
    )
    assert vendor.status_code == 201, vendor.text
    body = {
        "name": "Desmos",
        "vendor_id": vendor.json()["id"],
        "category": "math",
        "description": "Graphing",
        "url": "https://desmos.example",
        "subjects": ["math"],
        "grade_bands": ["6-8", "9-12"],
        "platforms": ["web", "ios"],
        "smartphone_support": True,
        "usage": "core",
    }
    r = await api.post(f"{BASE}/tools", json=body, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    tool = r.json()
    assert tool["vendor"] == "Desmos Inc" and tool["usage"] == "core" and tool["smartphone_support"] is True
    assert tool["status"] == "proposed" and tool["checklist_state"] == "pending"
    got = await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("teacher"))
    assert got.status_code == 200 and got.json()["platforms"] == ["web", "ios"]


async def test_update_changes_fields_but_not_status(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth, category="science")
    r = await api.patch(
        f"{BASE}/tools/{tool['id']}",
        json={"category": "math", "smartphone_support": True},
        headers=auth("edtech"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["category"] == "math" and r.json()["smartphone_support"] is True
    r = await api.patch(f"{BASE}/tools/{tool['id']}", json={"status": "adopted"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    r = await api.patch(f"{BASE}/tools/{tool['id']}", json={"name": None}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"


async def test_list_filters_search_and_pagination(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    a = await register(
        api,
        auth,
        name="Geo Explorer",
        category="science",
        subjects=["science"],
        grade_bands=["K-2"],
        vendor="Acme",
        smartphone_support=True,
    )
    b = await register(
        api,
        auth,
        name="Fraction Lab",
        category="math",
        subjects=["math", "stem"],
        grade_bands=["3-5"],
        vendor="Beta",
        usage="core",
        description="fractions_and_more",
    )
    await register(api, auth, name="Reading Nook", category="ela", subjects=["ela"], grade_bands=["3-5"])

    async def ids(**params: str | bool) -> list[str]:
        r = await api.get(f"{BASE}/tools", params=params, headers=auth("teacher"))
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert await ids(subject="science") == [a["id"]]
    assert await ids(subject="stem") == [b["id"]]
    assert len(await ids(grade_band="3-5")) == 2
    assert await ids(category="MATH") == [b["id"]]
    assert await ids(vendor="acme") == [a["id"]]
    assert await ids(usage="core") == [b["id"]]
    assert await ids(smartphone_support=True) == [a["id"]]
    assert await ids(q="fraction") == [b["id"]]
    assert await ids(q="and_more") == [b["id"]]
    assert await ids(q="%") == []
    assert await ids(status="proposed", checklist_state="pending", grade_band="3-5", subject="ela") != []
    assert await ids(checklist_state="failed") == []
    page = await api.get(f"{BASE}/tools", params={"limit": 2, "offset": 0}, headers=auth("teacher"))
    assert page.json()["total"] == 3 and len(page.json()["items"]) == 2
    rest = await api.get(f"{BASE}/tools", params={"limit": 2, "offset": 2}, headers=auth("teacher"))
    assert len(rest.json()["items"]) == 1
    bad = await api.get(f"{BASE}/tools", params={"status": "nope"}, headers=auth("teacher"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"


async def test_filter_by_vendor_id(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    v = (await api.post(f"{BASE}/vendors", json={"name": "Gamma"}, headers=auth("edtech"))).json()
    tool = await register(api, auth, vendor_id=v["id"])
    await register(api, auth)
    r = await api.get(f"{BASE}/tools", params={"vendor_id": v["id"]}, headers=auth("edtech"))
    assert [t["id"] for t in r.json()["items"]] == [tool["id"]]


async def test_roles(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await api.post(f"{BASE}/tools", json={"name": "X"}, headers=auth("teacher"))
    assert r.status_code == 403
    r = await api.post(f"{BASE}/tools", json={"name": "Proposed by specialist"}, headers=auth("specialist"))
    assert r.status_code == 201 and r.json()["status"] == "proposed"
    r = await api.patch(f"{BASE}/tools/{r.json()['id']}", json={"name": "Y"}, headers=auth("specialist"))
    assert r.status_code == 403
    r = await api.post(f"{BASE}/vendors", json={"name": "V"}, headers=auth("teacher"))
    assert r.status_code == 403


async def test_other_district_cannot_read_or_write(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    tool = await register(api, auth)
    vendor = (await api.post(f"{BASE}/vendors", json={"name": "Delta"}, headers=auth("edtech"))).json()
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=other)).status_code == 404
    assert (
        await api.patch(f"{BASE}/tools/{tool['id']}", json={"name": "Z"}, headers=other)
    ).status_code == 404
    r = await api.post(f"{BASE}/tools/{tool['id']}/transitions", json={"to_status": "vetting"}, headers=other)
    assert r.status_code == 404
    assert (await api.get(f"{BASE}/tools/{tool['id']}/history", headers=other)).status_code == 404
    assert (await api.get(f"{BASE}/tools", headers=other)).json()["total"] == 0
    assert (await api.get(f"{BASE}/vendors/{vendor['id']}", headers=other)).status_code == 404
    r = await api.patch(f"{BASE}/vendors/{vendor['id']}", json={"name": "Mine"}, headers=other)
    assert r.status_code == 404
    r = await api.post(f"{BASE}/tools", json={"name": "T", "vendor_id": vendor["id"]}, headers=other)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vendor_id"
    assert (await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("edtech"))).json()["name"] == tool[
        "name"
    ]


async def test_vendor_crud_and_duplicates(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await api.post(f"{BASE}/vendors", json={"name": "Epsilon"}, headers=auth("edtech"))
    vid = r.json()["id"]
    assert (
        await api.post(f"{BASE}/vendors", json={"name": "Epsilon"}, headers=auth("edtech"))
    ).status_code == 409
    r = await api.patch(f"{BASE}/vendors/{vid}", json={"dpa_signed": True}, headers=auth("edtech"))
    assert r.status_code == 200 and r.json()["dpa_signed"] is True
    r = await api.get(f"{BASE}/vendors", params={"q": "psil"}, headers=auth("teacher"))
    assert [v["id"] for v in r.json()["items"]] == [vid]
    r = await api.post(
        f"{BASE}/vendors", json={"name": "Bad", "contact_email": "nope"}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "contact_email"


async def test_bad_input_names_the_field(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await api.post(f"{BASE}/tools", json={"name": "X", "usage": "sometimes"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "usage"
    r = await api.post(f"{BASE}/tools", json={"name": "X", "grade_bands": [""]}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grade_bands.0"
    r = await api.post(f"{BASE}/tools", json={"name": "X", "colour": "red"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "colour"
    r = await api.get(f"{BASE}/tools/not-a-uuid", headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tool_id"
    r = await api.post(
        f"{BASE}/tools", json={"name": "X", "vendor_id": str(uuid.uuid4())}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vendor_id"


async def test_an_offset_past_any_page_is_422_not_a_database_error(
    api: httpx.AsyncClient, auth: TokenFactory
) -> None:
    r = await api.get(f"{BASE}/tools", params={"offset": 480562513634689286144}, headers=auth("edtech"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "offset"
