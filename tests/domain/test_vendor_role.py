"""A vendor invited by a district maps its own tools to standards ("vendors must map a tool to standards
before any pilot begins", DOMAIN.md §1) and uploads their evidence and privacy documents, and sees
nothing else."""

from __future__ import annotations

import uuid
from typing import Any

from tests.domain.helpers import ANALYTICS, CATALOG, PILOTS, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform

STANDARD = {"framework": "CCSS", "code": "CCSS.MATH.CONTENT.6.RP.A.1"}


async def vendor_with_tool(
    platform: Platform, auth: TokenFactory, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A vendor of the district and one tool of it."""
    edtech = auth("edtech")
    vendor = await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendors", json={"name": f"{name} {uuid.uuid4().hex[:4]}"}, headers=edtech
        ),
        201,
    )
    tool = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools", json={"name": f"{name} tool", "vendor_id": vendor["id"]}, headers=edtech
        ),
        201,
    )
    return vendor, tool


async def test_an_invited_vendor_maps_and_documents_its_own_tools_and_sees_nothing_else(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    vendor, tool = await vendor_with_tool(platform, auth, "Amplify")
    _, other_tool = await vendor_with_tool(platform, auth, "Other")
    rep = auth("vendor", subject="rep@amplify.example")

    r = await platform.catalog.get(f"{CATALOG}/vendor-portal", headers=rep)
    assert r.status_code == 403 and "invited" in r.json()["detail"]  # not invited yet
    member = await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendors/{vendor['id']}/members",
            json={"subject": "rep@amplify.example"},
            headers=edtech,
        ),
        201,
    )
    assert member["invited_by"] == "user-edtech"

    mapped = await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendor-portal/tools/{tool['id']}/standards", json=STANDARD, headers=rep
        ),
        201,
    )
    assert mapped["created_by"] == "rep@amplify.example"
    policy = b"%PDF-1.7 our FERPA and COPPA commitments"
    document = await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendor-portal/tools/{tool['id']}/documents",
            data={"kind": "privacy_policy", "title": "Student privacy policy 2026"},
            files={"file": ("privacy.pdf", policy, "application/pdf")},
            headers=rep,
        ),
        201,
    )
    assert (document["kind"], document["size"], document["vendor_id"]) == (
        "privacy_policy",
        len(policy),
        vendor["id"],
    )

    portal = await ok(await platform.catalog.get(f"{CATALOG}/vendor-portal", headers=rep))
    assert portal["vendor_id"] == vendor["id"]
    [mine] = portal["tools"]
    assert (mine["id"], [s["code"] for s in mine["standards"]], [d["title"] for d in mine["documents"]]) == (
        tool["id"],
        [STANDARD["code"]],
        ["Student privacy policy 2026"],
    )

    # another vendor's tool is unknown to it; everything else of the district is closed to it
    r = await platform.catalog.post(
        f"{CATALOG}/vendor-portal/tools/{other_tool['id']}/standards", json=STANDARD, headers=rep
    )
    assert r.status_code == 404
    for client, path in (
        (platform.catalog, f"{CATALOG}/tools"),
        (platform.catalog, f"{CATALOG}/tools/{tool['id']}"),
        (platform.catalog, f"{CATALOG}/vendors"),
        (platform.catalog, f"{CATALOG}/tools/{tool['id']}/documents"),
        (platform.catalog, f"{CATALOG}/licenses"),
        (platform.pilots, f"{PILOTS}/pilots"),
        (platform.analytics, f"{ANALYTICS}/dashboards/logins"),
    ):
        r = await client.get(path, headers=rep)
        assert r.status_code == 403, (path, r.status_code)
    r = await platform.catalog.put(
        f"{CATALOG}/tools/{tool['id']}/checklist/privacy",
        json={"result": "pass", "evidence": "trust us"},
        headers=rep,
    )
    assert r.status_code == 403

    # the district's reviewers read what the vendor uploaded
    [listed] = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/documents", headers=edtech))
    content = await platform.catalog.get(
        f"{CATALOG}/tools/{tool['id']}/documents/{listed['id']}/content", headers=auth("specialist")
    )
    assert (content.status_code, content.content, content.headers["content-type"]) == (
        200,
        policy,
        "application/pdf",
    )

    await platform.catalog.delete(f"{CATALOG}/vendors/{vendor['id']}/members/{member['id']}", headers=edtech)
    assert (await platform.catalog.get(f"{CATALOG}/vendor-portal", headers=rep)).status_code == 403
