"""Rules for retirement notices.

* Scheduling a retirement writes one `retirement` notice per teacher to tell (those who used the tool,
  as analytics counts use, and any named by hand); cancelling it writes a `cancellation` notice to the
  same teachers. Both are written in the transaction that changes the retirement.
* A background job (`notice_job`, every `notice_job_interval_s`) sends what is pending by email: over
  SMTP when `smtp_host` is set, else only logged (the embedded default). A teacher the roster gives no
  email is `no_address` (the notice still lists for them). A failed send is tried again next pass, up to
  `notice_max_attempts`, then `failed`. Replicas never send one notice twice: each pass locks its rows.
* A teacher lists their own notices; staff list the district's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.config import Settings
from services.catalog.models import Retirement, RetirementNotice, Tool
from services.catalog.notices.mailer import Mailer
from services.catalog.notices.repository import NoticeRepository
from shared.clock import clock_of
from shared.metrics import job_run

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)

BATCH = 50


def _text(tool: Tool, retirement: Retirement, kind: str) -> tuple[str, str]:
    ends = retirement.notice_ends_at.date().isoformat()
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
    subject, body = _text(tool, retirement, kind)
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


async def send_pending(session: AsyncSession, *, mailer: Mailer, max_attempts: int) -> int:
    """Send a batch of pending notices; returns how many were delivered (sent or logged)."""
    delivered = 0
    for notice in await NoticeRepository(session).claim_pending(limit=BATCH, max_attempts=max_attempts):
        assert notice.email is not None
        notice.attempts += 1
        try:
            notice.status = await mailer.send(to=notice.email, subject=notice.subject, body=notice.body)
        except Exception as exc:
            notice.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notice.attempts >= max_attempts:
                notice.status = "failed"
            log.warning("notice_not_sent", notice_id=str(notice.id), attempt=notice.attempts, error=repr(exc))
            continue
        notice.sent_at = clock_of(session).now()
        delivered += 1
    await session.flush()
    return delivered


async def notice_job(runtime: ServiceRuntime) -> None:
    """Background job: send pending notices every `notice_job_interval_s` seconds."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    mailer = Mailer(settings)
    while True:
        try:
            async with job_run(runtime.name, "notices"), runtime.db.transaction() as session:
                sent = await send_pending(session, mailer=mailer, max_attempts=settings.notice_max_attempts)
            if sent:
                log.info("notices_sent", count=sent)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notice_job_failed", error=repr(exc))
        await asyncio.sleep(settings.notice_job_interval_s)
