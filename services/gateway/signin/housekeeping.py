"""Sign-in's housekeeping: what sign-in no longer needs leaves the gateway's database.

Every gateway replica runs it once an hour (deleting is idempotent, so replicas need no turns):

- sessions that ended or expired go, and with them the person's name, e-mail and the provider's
  ID token they kept; the audit keeps who signed in and out, and when;
- sign-ins abandoned at the provider (their login attempt past its expiry);
- signing keys past their expiry: no token they signed is valid any more, and a private key should
  not outlive its use;
- audit entries older than `GATEWAY_AUDIT_DAYS` (they hold addresses and user agents).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import structlog

from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.runtime import SignIn
from shared.metrics import job_run

log = structlog.get_logger(__name__)

INTERVAL_S = 3600.0


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind one pass removed."""

    sessions: int
    login_attempts: int
    signing_keys: int
    audit_events: int


async def purge(signin: SignIn) -> Purged:
    """One pass, in one transaction, as of sign-in's clock."""
    now = signin.clock.now()
    async with signin.db.transaction() as session:
        rows = SignInRepository(session)
        return Purged(
            sessions=await rows.purge_sessions(now=now),
            login_attempts=await rows.purge_attempts(now=now),
            signing_keys=await rows.purge_signing_keys(now=now),
            audit_events=await rows.purge_events(before=now - dt.timedelta(days=signin.settings.audit_days)),
        )


async def housekeeping_job(signin: SignIn, *, interval_s: float = INTERVAL_S) -> None:
    """Background job: `purge` every `interval_s`, until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with job_run("gateway", "signin_housekeeping"):
                purged = await purge(signin)
            log.info("signin_housekeeping", **purged.__dict__)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("signin_housekeeping_failed", error=repr(exc))
