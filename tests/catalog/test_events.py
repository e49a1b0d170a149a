"""Consumed events: idempotent, each moving or flagging the tool as the lifecycle says."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI

from shared.events import ErrorLogged, LicenseDormant, PilotCancelled, PilotCompleted, PilotStarted
from tests.catalog.helpers import BASE, approved_tool, deliver, message, outbox_events, register
from tests.fixtures.auth import TokenFactory


def started(tool_id: str) -> PilotStarted:
    return PilotStarted(
        tool_id=uuid.UUID(tool_id),
        pilot_id=uuid.uuid4(),
        teacher_ids=["t1", "t2", "t3"],
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 2, 2),
    )


def completed(tool_id: str, decision: str) -> PilotCompleted:
    return PilotCompleted(
        tool_id=uuid.UUID(tool_id),
        pilot_id=uuid.uuid4(),
        decision=decision,
        rationale="TAM 4.2/5",
        decided_at=dt.datetime(2026, 2, 3, tzinfo=dt.UTC),
    )


def error(tool_id: str, severity: str, period: str = "P3") -> ErrorLogged:
    return ErrorLogged(
        tool_id=uuid.UUID(tool_id),
        error_id=uuid.uuid4(),
        severity=severity,
        occurred_at=dt.datetime(2026, 1, 7, 10, 15, tzinfo=dt.UTC),
        class_period=period,
        description="crashes on login",
    )


async def status_of(api: httpx.AsyncClient, auth: TokenFactory, tool_id: str) -> str:
    return str((await api.get(f"{BASE}/tools/{tool_id}", headers=auth("edtech"))).json()["status"])


async def test_pilot_started_then_completed_adopt(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await approved_tool(api, auth)
    await deliver(app, message(started(tool["id"]), district), times=2)
    assert await status_of(api, auth, tool["id"]) == "piloting"
    await deliver(app, message(completed(tool["id"], "adopt"), district), times=3)
    assert await status_of(api, auth, tool["id"]) == "adopted"
    history = (await api.get(f"{BASE}/tools/{tool['id']}/history", headers=auth("edtech"))).json()
    assert [h["to_status"] for h in history] == [
        "proposed",
        "vetting",
        "approved_for_pilot",
        "piloting",
        "adopted",
    ]
    assert history[-1]["actor"] == "pilots-service" and "adopt: TAM 4.2/5" in history[-1]["reason"]
    changes = [e for e in await outbox_events(app, tool["id"]) if e.type.endswith("status_changed.v1")]
    assert [e.data["to_status"] for e in changes][-2:] == ["piloting", "adopted"]


async def test_pilot_completed_reject_and_extend(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    extended = await approved_tool(api, auth)
    rejected = await approved_tool(api, auth)
    for tool in (extended, rejected):
        await deliver(app, message(started(tool["id"]), district))
    await deliver(app, message(completed(extended["id"], "extend"), district), times=2)
    await deliver(app, message(completed(rejected["id"], "reject"), district), times=2)
    assert await status_of(api, auth, extended["id"]) == "piloting"
    assert await status_of(api, auth, rejected["id"]) == "rejected"


async def test_pilot_started_for_privacy_failed_tool_is_flagged_not_moved(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await approved_tool(api, auth)
    await api.put(
        f"{BASE}/tools/{tool['id']}/checklist/privacy",
        json={"result": "fail", "evidence": "breach"},
        headers=auth("edtech"),
    )
    await deliver(app, message(started(tool["id"]), district), times=2)
    assert await status_of(api, auth, tool["id"]) == "vetting"  # withdrawn when privacy failed
    flags = (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=auth("edtech"))).json()["items"]
    assert len(flags) == 1 and flags[0]["kind"] == "review" and "privacy" in flags[0]["note"]


async def test_pilot_started_for_unvetted_tool_is_flagged(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await register(api, auth)
    await deliver(app, message(started(tool["id"]), district))
    assert await status_of(api, auth, tool["id"]) == "proposed"
    flags = (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=auth("edtech"))).json()["items"]
    assert "could not move to piloting" in flags[0]["note"]


async def test_license_dormant_flags_for_review_once(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await register(api, auth)
    payload = LicenseDormant(
        tool_id=uuid.UUID(tool["id"]),
        window_start=dt.date(2026, 1, 5),
        window_end=dt.date(2026, 5, 29),
        seats_purchased=500,
        seats_active=120,
        dormant_seats=380,
        dormant_cost=1900.0,
    )
    await deliver(app, message(payload, district), times=2)
    flags = (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=auth("edtech"))).json()["items"]
    assert len(flags) == 1
    assert flags[0]["kind"] == "review" and flags[0]["source"] == "license_dormant"
    assert flags[0]["data"]["dormant_seats"] == 380 and flags[0]["data"]["dormant_cost"] == 1900.0


async def test_error_logged_counts_toward_reliability_once(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await register(api, auth)
    before = (await api.get(f"{BASE}/tools/{tool['id']}/reliability", headers=auth("teacher"))).json()
    assert before["total_errors"] == 0 and before["note"] == "no errors reported"
    critical = error(tool["id"], "critical")
    await deliver(app, message(critical, district), times=2)
    # the same error id in a new envelope still counts once
    await deliver(app, message(critical, district))
    await deliver(app, message(error(tool["id"], "low", "P1"), district))
    r = (await api.get(f"{BASE}/tools/{tool['id']}/reliability", headers=auth("teacher"))).json()
    assert r["total_errors"] == 2
    assert r["by_severity"] == {"low": 1, "medium": 0, "high": 0, "critical": 1}
    assert r["by_class_period"] == {"P1": 1, "P3": 1}
    assert r["last_error_at"].startswith("2026-01-07T10:15")
    assert "2 errors reported (1 high or critical)" in r["note"]


async def test_events_of_another_district_or_unknown_tool_are_ignored(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI
) -> None:
    tool = await approved_tool(api, auth)
    await deliver(app, message(started(tool["id"]), "some-other-district"))
    await deliver(app, message(error(tool["id"], "high"), "some-other-district"))
    await deliver(app, message(started(str(uuid.uuid4())), "some-other-district"))
    assert await status_of(api, auth, tool["id"]) == "approved_for_pilot"
    r = (await api.get(f"{BASE}/tools/{tool['id']}/reliability", headers=auth("teacher"))).json()
    assert r["total_errors"] == 0
    other = auth("edtech", district_id=f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.get(f"{BASE}/tools/{tool['id']}/reliability", headers=other)).status_code == 404


def cancelled(tool_id: str, remaining: int) -> PilotCancelled:
    return PilotCancelled(
        tool_id=uuid.UUID(tool_id),
        pilot_id=uuid.uuid4(),
        reason="teacher left",
        cancelled_at=dt.datetime(2026, 1, 20, tzinfo=dt.UTC),
        was_started=True,
        active_pilots_remaining=remaining,
    )


async def test_pilot_cancelled_returns_the_tool_only_when_no_pilot_remains(
    api: httpx.AsyncClient, auth: TokenFactory, app: FastAPI, district: str
) -> None:
    tool = await approved_tool(api, auth)
    await deliver(app, message(started(tool["id"]), district))
    await deliver(app, message(cancelled(tool["id"], remaining=1), district), times=2)
    assert await status_of(api, auth, tool["id"]) == "piloting"
    flags = (await api.get(f"{BASE}/tools/{tool['id']}/flags", headers=auth("edtech"))).json()["items"]
    assert len(flags) == 1 and "1 other pilot(s) still running" in flags[0]["note"]

    await deliver(app, message(cancelled(tool["id"], remaining=0), district), times=2)
    assert await status_of(api, auth, tool["id"]) == "approved_for_pilot"
    history = (await api.get(f"{BASE}/tools/{tool['id']}/history", headers=auth("edtech"))).json()
    assert [h["to_status"] for h in history][-2:] == ["piloting", "approved_for_pilot"]
    assert "cancelled: teacher left" in history[-1]["reason"]
