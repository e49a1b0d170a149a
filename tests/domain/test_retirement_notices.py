"""Retiring sends a 30-day notice to the teachers who use the tool (DOMAIN.md §1): by email over SMTP
(a real SMTP server on loopback here) and as an event; teachers list their notices; a retirement can be
called off, and a cancelled one never blocks a new notice."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import time
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shared.events import CloudEvent
from shared.events.topics import CATALOG_TOOLS
from shared.testing import free_port
from tests.analytics.dataset import ev, send_events
from tests.analytics.roster_data import FILES, upload
from tests.domain.helpers import ANALYTICS, CATALOG, approved_tool, counted, ok
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform, running_platform

USERS = """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
t1,active,2026-01-01,true,sch-1,teacher,t1,,Ada,Teach,,,ada@lincoln.example,,,,,
t2,active,2026-01-01,true,sch-2,teacher,t2,,Bob,Teach,,,,,,,,
t3,active,2026-01-01,true,sch-2,teacher,t3,,Cy,Teach,,,cy@adams.example,,,,,
s1,active,2026-01-01,true,sch-1,student,s1,,S,One,,,,,,,05,
"""  # noqa: E501
SCHEDULED_ON = dt.date(2026, 5, 4)


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message (aiosmtpd's handler hook)."""
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content))
        )
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, list[str], Message]]:
        """The messages once `count` have arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} messages arrived"
            await asyncio.sleep(0.05)
        return self.messages


@contextlib.contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    """A real SMTP server (aiosmtpd) handing what it receives to `inbox`, on a loopback port."""
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def platform_mailing_to(
    platform_database_url: str, auth_settings: dict[str, Any], smtp_port: int
) -> AsyncIterator[Platform]:
    """The platform with the catalog sending notices to the SMTP server on `smtp_port` every 0.1 s."""
    catalog = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "edtech@springfield.example",
        "notice_job_interval_s": 0.1,
    }
    async with running_platform(platform_database_url, auth_settings, catalog=catalog) as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a loopback port, and what it receives."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


@pytest.fixture
async def mailing_platform(
    platform_database_url: str, auth_settings: dict[str, Any], smtp: tuple[Inbox, int]
) -> AsyncIterator[Platform]:
    """The platform with the catalog sending notices to the loopback SMTP server."""
    async with platform_mailing_to(platform_database_url, auth_settings, smtp[1]) as running:
        yield running


def catalog_events(platform: Platform, tool_id: str, event_type: str) -> list[CloudEvent]:
    """The catalog's events of one type about a tool, as they travelled on the bus."""
    found = [
        CloudEvent.from_kafka(m.headers, m.value)
        for m in platform.bus.messages(CATALOG_TOOLS)
        if m.key == tool_id
    ]
    return [e for e in found if e.type == event_type]


async def notices(platform: Platform, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The notices a caller sees."""
    return list((await ok(await platform.catalog.get(f"{CATALOG}/notices", headers=headers)))["items"])


async def adopted_tool_in_use(
    platform: Platform, auth: TokenFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """On SCHEDULED_ON, with the roster of USERS: an adopted tool ("Quizlet") and an LMS integration
    sending its usage."""
    edtech = auth("edtech")
    platform.travel_to(SCHEDULED_ON)
    assert (await upload(platform.analytics, edtech, {**FILES, "users.csv": USERS})).status_code == 200
    tool = await approved_tool(platform.catalog, auth, name="Quizlet")
    for status in ("piloting", "adopted"):
        await ok(
            await platform.catalog.post(
                f"{CATALOG}/tools/{tool['id']}/transitions", json={"to_status": status}, headers=edtech
            )
        )
    integration = await ok(
        await platform.analytics.post(
            f"{ANALYTICS}/integrations", json={"name": "LMS", "tool_id": tool["id"]}, headers=edtech
        ),
        201,
    )
    return tool, integration


async def test_retiring_notifies_the_teachers_who_use_the_tool_and_can_be_called_off(
    mailing_platform: Platform, smtp: tuple[Inbox, int], auth: TokenFactory, district: str
) -> None:
    platform, inbox, edtech = mailing_platform, smtp[0], auth("edtech")
    tool, integration = await adopted_tool_in_use(platform, auth)
    await send_events(
        platform.analytics,
        integration,
        [ev("t1", "login", "2026-04-20"), ev("t2", "login", "2026-04-21"), ev("s1", "login", "2026-04-21")],
    )
    await counted(platform, district)

    retirement = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement",
            json={"archive_location": "https://drive.example/quizlet-archive", "reason": "low use"},
            headers=edtech,
        ),
        201,
    )
    assert retirement["teacher_ids"] == ["t1", "t2"]  # who used it; t3 never did
    assert retirement["notice_ends_at"].startswith("2026-06-03")

    [(sender, recipients, message)] = await inbox.wait_for(1)
    assert (sender, recipients) == ("edtech@springfield.example", ["ada@lincoln.example"])
    assert message["Subject"] == "Quizlet will be retired on 2026-06-03"
    assert "https://drive.example/quizlet-archive" in message.get_payload()
    await platform.settle()
    [scheduled] = catalog_events(platform, tool["id"], "org.edtech.tool.retirement_scheduled.v1")
    assert (
        scheduled.data["teacher_ids"] == ["t1", "t2"] and scheduled.data["retirement_id"] == retirement["id"]
    )

    ada = await notices(platform, auth("teacher", subject="t1"))
    assert [(n["kind"], n["tool_name"], n["status"], n["email"]) for n in ada] == [
        ("retirement", "Quizlet", "sent", "ada@lincoln.example")
    ]
    bob = await notices(platform, auth("teacher", subject="t2"))
    assert [(n["kind"], n["status"]) for n in bob] == [("retirement", "no_address")]  # listed all the same
    assert await notices(platform, auth("teacher", subject="t3")) == []
    assert len(await notices(platform, edtech)) == 2

    cancelled = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement/cancel",
            json={"reason": "teachers asked to keep it"},
            headers=edtech,
        )
    )
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "teachers asked to keep it")
    assert (await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}", headers=edtech)))[
        "status"
    ] == "adopted"
    _, (_, to, message) = await inbox.wait_for(2)
    assert to == ["ada@lincoln.example"] and message["Subject"] == "Quizlet is no longer being retired"
    await platform.settle()
    [called_off] = catalog_events(platform, tool["id"], "org.edtech.tool.retirement_cancelled.v1")
    assert called_off.data["teacher_ids"] == ["t1", "t2"]
    assert sorted(n["kind"] for n in await notices(platform, auth("teacher", subject="t1"))) == [
        "cancellation",
        "retirement",
    ]
    r = await platform.catalog.post(f"{CATALOG}/tools/{tool['id']}/retirement/cancel", headers=edtech)
    assert r.status_code == 409  # nothing left to call off

    # the cancelled retirement blocks nothing: a new notice at once, and the tool retires when it ends
    again = await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement",
            json={"archive_location": "https://drive.example/quizlet-archive", "notice_days": 10},
            headers=edtech,
        ),
        201,
    )
    await inbox.wait_for(3)
    platform.travel_to(SCHEDULED_ON + dt.timedelta(days=11))
    run = await ok(await platform.catalog.post(f"{CATALOG}/sunsetting/run", headers=edtech))
    assert [r["id"] for r in run["retired"]] == [again["id"]]
