"""The district's time zone has one owner, analytics, and pilots and the catalog cut their days in it too:
they learn the zone from `district-time-zone-changed` (each keeps a copy, never reads analytics' tables),
so two errors of one Pacific evening and the next morning are two failing days, the observation
schedule's today is the district's, and a retirement notice names the district's day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.analytics.events import outbox
from shared.events import DistrictTimeZoneChanged
from tests.domain.helpers import ANALYTICS, CATALOG, PILOTS, approved_tool, ok, pilot_plan
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform

MONDAY_EVENING = "2026-03-02T21:00:00-08:00"  # 2026-03-03 05:00 UTC: Tuesday in UTC
TUESDAY_MORNING = "2026-03-03T08:00:00-08:00"  # 2026-03-03 16:00 UTC


def error(at: str) -> dict[str, Any]:
    """A technical error of the pilot's tool in class period 3."""
    return {"what_failed": "Quiz would not load", "occurred_at": at, "class_period": "3", "severity": "high"}


async def test_pilots_cut_days_in_the_time_zone_analytics_owns(
    platform: Platform, auth: TokenFactory, district: str
) -> None:
    edtech, teacher = auth("edtech"), auth("teacher", subject="teacher-a")
    tool = await approved_tool(platform.catalog, auth)
    await platform.settle()
    await ok(await platform.pilots.put(f"{PILOTS}/settings", json={"error_pattern_days": 2}, headers=edtech))
    pilot = await ok(
        await platform.pilots.post(f"{PILOTS}/pilots", json=pilot_plan(tool["id"]), headers=edtech), 201
    )
    await ok(await platform.pilots.post(f"{PILOTS}/pilots/{pilot['id']}/start", headers=edtech))
    base = f"{PILOTS}/pilots/{pilot['id']}"
    for at in (MONDAY_EVENING, TUESDAY_MORNING):
        await ok(await platform.pilots.post(f"{base}/errors", json=error(at), headers=teacher), 201)
    platform.runtime("pilots").clock.set(dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC))  # Monday 9 pm Pacific

    # UTC until the district sets its zone: one failing day (no pattern), and today is Tuesday
    assert (await ok(await platform.pilots.get(f"{PILOTS}/settings", headers=edtech)))["time_zone"] == "UTC"
    assert (await ok(await platform.pilots.get(f"{base}/error-patterns", headers=edtech)))["patterns"] == []
    assert (await ok(await platform.pilots.get(f"{base}/schedule", headers=edtech)))["as_of"] == "2026-03-03"

    # set once, in analytics (the owner); pilots learns it from the event
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings", json={"time_zone": "America/Los_Angeles"}, headers=edtech
        )
    )
    await platform.settle()
    settings = await ok(await platform.pilots.get(f"{PILOTS}/settings", headers=edtech))
    assert settings["time_zone"] == "America/Los_Angeles"
    patterns = (await ok(await platform.pilots.get(f"{base}/error-patterns", headers=edtech)))["patterns"]
    assert [(p["class_period"], p["days"], p["occurrences"]) for p in patterns] == [
        ("3", ["2026-03-02", "2026-03-03"], 2)
    ]
    assert (await ok(await platform.pilots.get(f"{base}/schedule", headers=edtech)))["as_of"] == "2026-03-02"
    # a new error reported on that evening is found in the pattern at once (the day of the report)
    logged = await ok(
        await platform.pilots.post(
            f"{base}/errors", json=error("2026-03-02T20:30:00-08:00"), headers=teacher
        ),
        201,
    )
    assert logged["pattern"]["days"] == ["2026-03-02", "2026-03-03"]

    # a later change follows; pilots has no entry point of its own for the zone
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings", json={"time_zone": "America/New_York"}, headers=edtech
        )
    )
    await platform.settle()
    settings = await ok(await platform.pilots.get(f"{PILOTS}/settings", headers=edtech))
    assert settings["time_zone"] == "America/New_York"
    assert (await ok(await platform.pilots.get(f"{base}/schedule", headers=edtech)))["as_of"] == "2026-03-03"
    r = await platform.pilots.put(f"{PILOTS}/settings", json={"time_zone": "UTC"}, headers=edtech)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"

    # a late copy of the first change (revision 1, a new event) changes nothing: the copies keep revision 2
    analytics = platform.runtime("analytics")
    async with analytics.db.transaction() as session:
        late = DistrictTimeZoneChanged(
            district_id=district,
            time_zone="America/Los_Angeles",
            revision=1,
            changed_at=analytics.clock.now(),
        )
        await outbox.add(session, late, district_id=district)
    await platform.settle()
    assert (await ok(await platform.pilots.get(f"{PILOTS}/settings", headers=edtech)))["time_zone"] == (
        "America/New_York"
    )
    assert (await ok(await platform.catalog.get(f"{CATALOG}/district-settings", headers=edtech)))[
        "time_zone"
    ] == "America/New_York"


async def test_the_catalog_dates_a_retirement_notice_in_the_districts_time_zone(
    platform: Platform, auth: TokenFactory
) -> None:
    edtech = auth("edtech")
    tool = await approved_tool(platform.catalog, auth, name="Quizlet")
    for status in ("piloting", "adopted"):
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": status}, headers=edtech
            )
        )
    await ok(
        await platform.analytics.put(
            f"{ANALYTICS}/settings", json={"time_zone": "America/Los_Angeles"}, headers=edtech
        )
    )
    await platform.settle()
    settings = await ok(await platform.catalog.get(f"{CATALOG}/district-settings", headers=edtech))
    assert settings["time_zone"] == "America/Los_Angeles"
    r = await platform.catalog.put(
        f"{CATALOG}/district-settings", json={"time_zone": "UTC"}, headers=auth("admin")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"

    # 10 pm Pacific on May 3 (May 4 in UTC): 30 days' notice ends on June 2 in the district
    platform.runtime("catalog").clock.set(dt.datetime(2026, 5, 4, 5, 0, tzinfo=dt.UTC))
    retirement = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement",
            json={"archive_location": "https://drive.example/archive", "teacher_ids": ["t9"]},
            headers=edtech,
        ),
        201,
    )
    assert retirement["notice_ends_at"].startswith("2026-06-03T05:00")
    [notice] = (await ok(await platform.catalog.get(f"{CATALOG}/notices", headers=edtech)))["items"]
    assert notice["subject"] == "Quizlet will be retired on 2026-06-02"
