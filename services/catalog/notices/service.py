"""Rules for retirement notices.

* Scheduling a retirement writes one `retirement` notice per teacher to tell (those who used the tool,
  as analytics counts use, and any named by hand); cancelling it writes a `cancellation` notice to the
  same teachers. Both are written in the transaction that changes the retirement.
* A background job (`notice_job`, every `notice_job_interval_s`) sends what is pending by email: over
  SMTP when `smtp_host` is set, else only logged (the embedded default). A teacher the roster gives no
  email is `no_address` (the notice still lists for them). A failed send is tried again next pass, up to
  `notice_max_attempts`, then `failed`.
* No database transaction is open while the job talks to SMTP: it claims a batch (`sending`, with the
  time, one try counted) and commits, sends each message, then records each `sent` in a transaction of
  its own. Replicas never claim one notice together (the claim locks its rows and skips locked ones),
  and a claimed notice is not claimed again within `sending_lease`. Delivery is at least once: a process
  that dies between the SMTP server's acceptance and the record leaves the notice `sending`, and once the
  lease has passed it is sent again, with the same Message-ID (`<notice-id@from-domain>`), so mail
  clients show it once; one left `sending` with no try left becomes `failed`.
* A teacher lists their own notices; staff list the district's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.config import Settings
from services.catalog.district_settings.service import district_time_zone
from services.catalog.models import Retirement, RetirementNotice, Tool
from services.catalog.notices.mailer import Mailer
from services.catalog.notices.repository import NoticeRepository
from shared.clock import clock_of
from shared.db import Database
from shared.metrics import job_run
from shared.time_zones import local_date

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

BATCH = 50


def _text(tool: Tool, retirement: Retirement, kind: str, time_zone: str) -> tuple[str, str]:
    ends = local_date(retirement.notice_ends_at, time_zone).isoformat()  # the district's day
    if kind == "cancellation":
        return (
            f"{tool.name} is no longer being retired",
            f"The retirement of {tool.name}, announced for {ends}, is cancelled: keep using it as "
            f"before.{f' Why: {retirement.cancel_reason}' if retirement.cancel_reason else ''}",
        )
    return (
        f"{tool.name} will be retired on {ends}",
        f"{tool.name} will be retired on {ends} ({retirement.notice_days} days' notice), as you have used "
        f"it. Student work will be archived at {retirement.archive_location}."
        f"{f' Why: {retirement.reason}' if retirement.reason else ''}",
    )


async def write_notices(
    session: AsyncSession,
    *,
    tool: Tool,
    retirement: Retirement,
    kind: str,
    recipients: Mapping[str, str | None],
) -> list[RetirementNotice]:
    """One notice of `kind` per teacher (teacher id -> email or None), pending delivery."""
    time_zone = await district_time_zone(session, district_id=tool.district_id)
    subject, body = _text(tool, retirement, kind, time_zone)
    now = clock_of(session).now()
    notices = [
        RetirementNotice(
            district_id=tool.district_id,
            retirement_id=retirement.id,
            tool_id=tool.id,
            teacher_id=teacher,
            email=email,
            kind=kind,
            subject=subject,
            body=body,
            status="pending" if email else "no_address",
            attempts=0,
            created_at=now,
        )
        for teacher, email in sorted(recipients.items())
    ]
    await NoticeRepository(session).add_all(notices)
    return notices


def sending_lease(settings: Settings) -> dt.timedelta:
    """How long a claimed notice stays with the job that claimed it: well over one SMTP conversation."""
    return dt.timedelta(seconds=max(300.0, 3 * settings.smtp_timeout_s))


@dataclass(frozen=True)
class Claimed:
    """A notice claimed for sending, as the SMTP conversation needs it (read before the commit)."""

    id: uuid.UUID
    email: str
    subject: str
    body: str
    attempts: int


async def claim(db: Database, *, settings: Settings) -> list[Claimed]:
    """Claim a batch of notices to send (`sending`, one try counted) in a transaction of its own."""
    async with db.transaction() as session:
        now = clock_of(session).now()
        stale_before = now - sending_lease(settings)
        repo = NoticeRepository(session)
        await repo.fail_interrupted(
            max_attempts=settings.notice_max_attempts,
            stale_before=stale_before,
            error="interrupted while sending, no try left",
        )
        claimed = []
        for notice in await repo.claim_pending(
            limit=BATCH, max_attempts=settings.notice_max_attempts, stale_before=stale_before
        ):
            assert notice.email is not None
            notice.status, notice.sending_at, notice.attempts = "sending", now, notice.attempts + 1
            claimed.append(Claimed(notice.id, notice.email, notice.subject, notice.body, notice.attempts))
        await session.flush()
    return claimed


async def record(
    db: Database, notice: Claimed, *, status: str | None, error: str | None, max_attempts: int
) -> None:
    """Record how a claimed notice's send went: delivered (`status`), or failed with `error` (pending
    again while tries are left, else failed)."""
    async with db.transaction() as session:
        row = await NoticeRepository(session).get_for_update(notice.id)
        if row is None or row.status != "sending":
            return  # gone with its retirement, or already recorded
        if status is not None:
            row.status, row.sent_at = status, clock_of(session).now()
        else:
            row.last_error = error
            row.status = "failed" if notice.attempts >= max_attempts else "pending"
        row.sending_at = None
        await session.flush()


async def send_pending(db: Database, *, mailer: Mailer, settings: Settings) -> int:
    """Send a batch of pending notices; returns how many were delivered (sent or logged). The SMTP
    conversations happen between the claim's transaction and each record's, never inside one."""
    delivered = 0
    for notice in await claim(db, settings=settings):
        try:
            status = await mailer.send(
                to=notice.email, subject=notice.subject, body=notice.body, key=f"notice-{notice.id}"
            )
        except Exception as exc:
            log.warning("notice_not_sent", notice_id=str(notice.id), attempt=notice.attempts, error=repr(exc))
            await record(
                db,
                notice,
                status=None,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                max_attempts=settings.notice_max_attempts,
            )
            continue
        await record(db, notice, status=status, error=None, max_attempts=settings.notice_max_attempts)
        delivered += 1
    return delivered


async def notice_job(runtime: ServiceRuntime) -> None:
    """Background job: send pending notices every `notice_job_interval_s` seconds."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    mailer = Mailer(settings)
    while True:
        try:
            async with job_run(runtime.name, "notices"):
                sent = await send_pending(runtime.db, mailer=mailer, settings=settings)
            if sent:
                log.info("notices_sent", count=sent)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notice_job_failed", error=repr(exc))
        await asyncio.sleep(settings.notice_job_interval_s)
