"""Technical error logs (DOMAIN.md §2): teachers and LMSs report errors for any tool in use, not only
while a pilot runs; `error-logged` flows the same way for both (to the catalog's reliability note and
analytics' error counts)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from services.analytics.ingest.signing import signed_headers
from tests.domain.helpers import ANALYTICS, CATALOG, PILOTS, approved_tool, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


async def adopted(platform: Platform, auth: TokenFactory) -> dict[str, Any]:
    """A tool in classrooms: adopted in the catalog, known to pilots and analytics by its events."""
    tool = await approved_tool(platform.catalog, auth)
    for status in ("piloting", "adopted"):
        tool = await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions",
                json={"to_status": status},
                headers=auth("edtech"),
            )
        )
    await platform.settle()
    return dict(tool)


async def lms_posts(platform: Platform, integration: dict[str, Any], events: list[dict[str, Any]]) -> Any:
    """A signed delivery of platform JSON events, as an LMS sends it."""
    body = orjson.dumps({"events": events})
    headers = signed_headers(integration["secret"], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    r = await platform.analytics.post(
        f"{ANALYTICS}/webhooks/{integration['id']}/events",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    return await ok(r)


async def test_errors_of_a_tool_in_use_are_reported_by_teachers_and_lmss_alike(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech, teacher = auth("edtech"), auth("teacher", subject="t-1001")
    tool = await adopted(platform, auth)
    report = {
        "what_failed": "quiz would not load after login",
        "occurred_at": "2026-09-14T09:05:00Z",
        "class_period": "3",
        "severity": "high",
        "category": "login",
    }
    logged = await ok(
        await platform.pilots.post(f"{PILOTS}/tools/{tool['id']}/errors", json=report, headers=teacher), 201
    )
    assert (logged["pilot_id"], logged["teacher_id"], logged["tool_id"]) == (None, "t-1001", tool["id"])

    integration = await ok(
        await platform.analytics.post(
            f"{ANALYTICS}/integrations", json={"name": "Canvas", "tool_id": tool["id"]}, headers=edtech
        ),
        201,
    )
    lms_error = {
        "event_id": "canvas-err-1",
        "type": "error",
        "occurred_at": "2026-09-15T10:20:00Z",
        "user_id": "s-2002",
        "severity": "critical",
        "description": "submission upload failed: 502 from the tool",
        "class_period": "3",
        "category": "sync",
    }
    assert (await lms_posts(platform, integration, [lms_error]))["accepted"] == 1
    assert (await lms_posts(platform, integration, [lms_error]))["duplicates"] == 1  # a retry: once
    await platform.settle()

    reliability = await ok(
        await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/reliability", headers=edtech)
    )
    assert reliability["total_errors"] == 2
    assert (reliability["by_severity"]["high"], reliability["by_severity"]["critical"]) == (1, 1)
    assert reliability["by_class_period"] == {"3": 2}
    counted = await ok(
        await platform.analytics.get(
            f"{ANALYTICS}/dashboards/errors",
            params={"from": "2026-09-01", "to": "2026-09-30", "tool_id": tool["id"]},
            headers=edtech,
        )
    )
    assert sorted((row["severity"], row["errors"]) for row in counted) == [("critical", 1), ("high", 1)]

    listed = await ok(await platform.pilots.get(f"{PILOTS}/tools/{tool['id']}/errors", headers=teacher))
    assert [e["what_failed"] for e in listed["items"]] == ["quiz would not load after login"]


async def test_errors_are_not_reported_for_a_tool_not_in_use(platform: Platform, auth: TokenFactory) -> None:
    tool = await approved_tool(platform.catalog, auth)  # approved for pilot, in no classroom yet
    await platform.settle()
    r = await platform.pilots.post(
        f"{PILOTS}/tools/{tool['id']}/errors",
        json={"what_failed": "x", "occurred_at": "2026-09-14T09:05:00Z", "severity": "low"},
        headers=auth("teacher"),
    )
    assert r.status_code == 409 and r.json()["tool_status"] == "approved_for_pilot"
    assert "tool in use" in r.json()["detail"]
