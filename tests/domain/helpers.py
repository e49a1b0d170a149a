"""Helpers of the domain tests: each service's documented HTTP sequences, as a district's people run them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from services.analytics.counting.service import freshness
from tests.catalog.helpers import approved_tool
from tests.fixtures.platform import Platform

__all__ = ["ANALYTICS", "CATALOG", "PILOTS", "approved_tool", "counted", "ok", "pilot_plan"]

CATALOG = "/api/catalog"
PILOTS = "/api/pilots"
ANALYTICS = "/api/analytics"


async def ok(response: httpx.Response, *expected: int) -> Any:
    """The JSON of a response whose status is one of `expected` (200 or 201 by default)."""
    assert response.status_code in (expected or (200, 201)), f"{response.status_code} {response.text}"
    return response.json()


def pilot_plan(tool_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid pilot plan: three volunteer teachers, four weeks from a Monday."""
    return {
        "tool_id": tool_id,
        "title": "A pilot",
        "goals": ["graph linear functions"],
        "teacher_ids": ["teacher-a", "teacher-b", "teacher-c"],
        "start_date": "2026-03-02",
        "classes": [{"name": "Algebra I", "period": "3", "teacher_id": "teacher-a"}],
        **overrides,
    }


async def counted(platform: Platform, district: str, timeout_s: float = 15.0) -> None:
    """Wait until analytics' counting workers have counted every event of the district, regroups and
    recounts done (its dashboards' `freshness`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with platform.runtime("analytics").db.transaction() as session:
            fresh = await freshness(session, district)
        if fresh.pending_events == 0 and fresh.groups_current:
            return
        assert time.monotonic() < deadline, f"not counted after {timeout_s}s: {fresh}"
        await asyncio.sleep(0.05)
