"""Retirement notices are sent outside any database transaction and at least once: while the SMTP server
takes a message, its notice is already committed as `sending` and locked by no one; a process that died
after the server took a message and before recording it leaves it `sending`, and once the claim's lease
has passed the notice goes again with the same Message-ID (mail clients show it once)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from tests.analytics.dataset import ev, send_events
from tests.domain.helpers import CATALOG, counted, ok
from tests.domain.test_retirement_notices import (
    Inbox,
    adopted_tool_in_use,
    notices,
    platform_mailing_to,
    smtp_server,
)
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform


class WatchingInbox(Inbox):
    """An SMTP server's inbox that looks at each message's notice in the database while it takes it."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        self.district = ""
        self.seen: list[tuple[str, str]] = []
        """(status, lock) of the notice during each message: lock `free` unless a transaction holds it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Read the notice's row (locking it, without waiting) before accepting the message."""
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                status = await conn.fetchval(
                    "SELECT status FROM catalog.retirement_notice WHERE district_id = $1 AND email = $2 "
                    "FOR UPDATE NOWAIT",
                    self.district,
                    envelope.rcpt_tos[0],
                )
            self.seen.append((status, "free"))
        except asyncpg.LockNotAvailableError:
            self.seen.append(("?", "locked"))
        finally:
            await conn.close()
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def watching_smtp(platform_database_url: str) -> Iterator[tuple[WatchingInbox, int]]:
    """A real SMTP server (aiosmtpd) on a loopback port that watches the notices' rows."""
    inbox = WatchingInbox(platform_database_url)
    with smtp_server(inbox) as port:
        yield inbox, port


@pytest.fixture
async def mailing_platform(
    platform_database_url: str, auth_settings: dict[str, Any], watching_smtp: tuple[WatchingInbox, int]
) -> AsyncIterator[Platform]:
    """The platform with the catalog sending notices to the watching SMTP server."""
    async with platform_mailing_to(platform_database_url, auth_settings, watching_smtp[1]) as running:
        yield running


async def test_notices_are_sent_outside_transactions_and_at_least_once(
    mailing_platform: Platform, watching_smtp: tuple[WatchingInbox, int], auth: TokenFactory, district: str
) -> None:
    platform, inbox, edtech = mailing_platform, watching_smtp[0], auth("edtech")
    inbox.district = district
    tool, integration = await adopted_tool_in_use(platform, auth)
    await send_events(platform.analytics, integration, [ev("t1", "login", "2026-04-20")])
    await send_events(platform.analytics, integration, [ev("t3", "login", "2026-04-21")])
    await counted(platform, district)
    await ok(
        await platform.catalog.post(
            f"{CATALOG}/tools/{tool['id']}/retirement",
            json={"archive_location": "https://drive.example/quizlet-archive"},
            headers=edtech,
        ),
        201,
    )

    messages = await inbox.wait_for(2)
    assert inbox.seen == [("sending", "free"), ("sending", "free")]  # committed, and no one holds the row
    first_ids = {to[0]: m["Message-ID"] for _, to, m in messages}
    assert set(first_ids) == {"ada@lincoln.example", "cy@adams.example"}
    assert all(i.startswith("<notice-") and i.endswith("@springfield.example>") for i in first_ids.values())
    await platform.settle()
    listed = await notices(platform, edtech)
    assert sorted((n["teacher_id"], n["status"]) for n in listed) == [("t1", "sent"), ("t3", "sent")]

    # a process that died after the server took Ada's message, before recording it: left `sending`
    ada = next(n for n in listed if n["teacher_id"] == "t1")
    catalog = platform.runtime("catalog")
    async with catalog.db.transaction() as session:
        await session.execute(
            text(
                "UPDATE catalog.retirement_notice SET status = 'sending', sending_at = :at, sent_at = NULL "
                "WHERE id = :id"
            ),
            {"at": catalog.clock.now(), "id": uuid.UUID(ada["id"])},
        )
    await inbox.wait_for(2)
    await asyncio.sleep(0.6)  # six passes of the job within the claim's lease: not sent again
    assert len(inbox.messages) == 2
    catalog.clock.advance(dt.timedelta(minutes=6))  # the lease (5 minutes) has passed: sent again
    _, _, (_, to, again) = await inbox.wait_for(3)
    assert to == ["ada@lincoln.example"] and again["Message-ID"] == first_ids["ada@lincoln.example"]
    assert inbox.seen[-1] == ("sending", "free")
    await platform.settle()
    ada_now = next(n for n in await notices(platform, edtech) if n["teacher_id"] == "t1")
    assert ada_now["status"] == "sent"
