"""What an operator does on the gateway's machine with its settings: register a district's first
identity provider, when nobody of the district can sign in yet to do it through the API."""

from __future__ import annotations

import uuid

from services.gateway.config import Settings
from services.gateway.models import AuthEvent
from services.gateway.signin.providers.schemas import ProviderCreate, ProviderRead
from services.gateway.signin.providers.service import ensure_unique_name, new_provider, read
from services.gateway.signin.repository import SignInRepository
from services.gateway.signin.secrets import SecretBox
from shared.clock import Clock
from shared.db import Database

OPERATOR = "platform:operator"


async def register_provider(settings: Settings, *, district_id: str, data: ProviderCreate) -> ProviderRead:
    """Register a provider for `district_id` straight in the gateway's schema, audited as the operator's."""
    clock = Clock()
    db = Database(settings.database_url, "gateway", pool_size=1, clock=clock)
    box = SecretBox.from_settings(settings)
    try:
        async with db.transaction() as session:
            repo = SignInRepository(session)
            row = new_provider(
                data,
                district_id=district_id,
                box=box,
                clock=clock,
                production=settings.environment == "production",
            )
            await ensure_unique_name(repo, row)
            repo.add(row)
            repo.add(
                AuthEvent(
                    id=uuid.uuid4(),
                    district_id=district_id,
                    at=clock.now(),
                    kind="provider_created",
                    subject=OPERATOR,
                    provider_id=row.id,
                    detail={"name": row.name, "preset": row.preset, "issuer": row.issuer, "by": "edtech CLI"},
                )
            )
        return read(row, public_url=settings.public_url)
    finally:
        await db.dispose()
