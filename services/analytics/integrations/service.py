"""Integration rules: secrets shown once, rotation with a grace period, and a short-lived cache."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.ingest.signing import new_secret
from services.analytics.ingest.vocabulary import DEFAULT, Vocabulary
from services.analytics.integrations.repository import IntegrationRepository
from services.analytics.integrations.schemas import IntegrationCreate
from services.analytics.models import Integration
from services.analytics.tools.service import check_tool
from shared.db import Database, utcnow
from shared.errors import NotFound, Unauthorized


async def create_integration(
    session: AsyncSession, *, district_id: str, data: IntegrationCreate
) -> Integration:
    """Create an integration with a fresh secret (bound to a tool of no other district)."""
    if data.tool_id is not None:
        await check_tool(session, district_id=district_id, tool_id=data.tool_id)
    return await IntegrationRepository(session).add(
        Integration(
            district_id=district_id,
            name=data.name,
            tool_id=str(data.tool_id) if data.tool_id else None,
            secret=new_secret(),
            enabled=True,
            vocabulary=data.vocabulary,
        )
    )


async def get_integration(
    session: AsyncSession, *, district_id: str, integration_id: uuid.UUID
) -> Integration:
    """A district's integration; 404 otherwise."""
    found = await IntegrationRepository(session).get(district_id=district_id, integration_id=integration_id)
    if found is None:
        raise NotFound(f"integration {integration_id} not found")
    return found


async def rotate_secret(
    session: AsyncSession, *, district_id: str, integration_id: uuid.UUID, grace: dt.timedelta
) -> Integration:
    """Issue a new secret; the old one keeps verifying for `grace`."""
    integration = await get_integration(session, district_id=district_id, integration_id=integration_id)
    now = utcnow()
    integration.previous_secret, integration.secret = integration.secret, new_secret()
    integration.previous_secret_expires_at = now + grace
    integration.rotated_at = now
    await session.flush()
    return integration


async def set_vocabulary(
    session: AsyncSession, *, district_id: str, integration_id: uuid.UUID, overrides: dict[str, str]
) -> Integration:
    """Replace an integration's vocabulary overrides (names -> kinds over the defaults)."""
    integration = await get_integration(session, district_id=district_id, integration_id=integration_id)
    integration.vocabulary = overrides
    await session.flush()
    return integration


async def set_enabled(
    session: AsyncSession, *, district_id: str, integration_id: uuid.UUID, enabled: bool
) -> Integration:
    """Enable or disable an integration (a disabled one gets 401 on every webhook)."""
    integration = await get_integration(session, district_id=district_id, integration_id=integration_id)
    integration.enabled = enabled
    await session.flush()
    return integration


@dataclass(frozen=True, slots=True)
class IntegrationKey:
    """What a webhook needs of an integration: its district, tool and valid secrets."""

    id: uuid.UUID
    district_id: str
    tool_id: str | None
    enabled: bool
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: dt.datetime | None
    vocabulary: Vocabulary = DEFAULT

    def secrets(self, now: dt.datetime) -> list[str]:
        """Secrets that verify right now (the previous one during its grace period)."""
        valid = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            valid.append(self.previous_secret)
        return valid


class IntegrationCache:
    """Integrations by id for `ttl_s` seconds, so a webhook costs no extra round trip."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[uuid.UUID, tuple[float, IntegrationKey | None]] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[None]] = {}

    def invalidate(self, integration_id: uuid.UUID) -> None:
        """Forget one integration (after it changed in this process)."""
        self._entries.pop(integration_id, None)

    async def get(self, db: Database, integration_id: uuid.UUID) -> IntegrationKey:
        """The enabled integration `integration_id`; 401 when unknown or disabled.

        At most one database lookup per integration is in flight: when an entry expires under load,
        the other requests wait for that lookup instead of each taking a pooled connection.
        """
        hit = self._entries.get(integration_id)
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            stale = hit
            pending = self._loading.get(integration_id)
            if pending is not None:
                await asyncio.shield(pending)
                hit = self._entries.get(integration_id)  # what that lookup stored
            if pending is None or hit is None or hit is stale:  # none, or that lookup failed
                hit = await self._load(db, integration_id)
        key = hit[1]
        if key is None or not key.enabled:
            raise Unauthorized("unknown or disabled integration")
        return key

    async def _load(self, db: Database, integration_id: uuid.UUID) -> tuple[float, IntegrationKey | None]:
        done = self._loading[integration_id] = asyncio.get_running_loop().create_future()
        try:
            return await self._fetch(db, integration_id)
        finally:
            del self._loading[integration_id]
            done.set_result(None)

    async def _fetch(self, db: Database, integration_id: uuid.UUID) -> tuple[float, IntegrationKey | None]:
        now = time.monotonic()
        async with db.transaction() as session:
            row = await IntegrationRepository(session).by_id(integration_id)
        key = (
            None
            if row is None
            else IntegrationKey(
                row.id,
                row.district_id,
                row.tool_id,
                row.enabled,
                row.secret,
                row.previous_secret,
                row.previous_secret_expires_at,
                Vocabulary(row.vocabulary) if row.vocabulary else DEFAULT,
            )
        )
        if len(self._entries) > 10_000:
            self._entries.clear()
        entry = self._entries[integration_id] = (now, key)
        return entry
