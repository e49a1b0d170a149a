"""Ingestion rules: resolve actors, de-duplicate by delivery and by event id, append, and queue
for counting; count what nobody matched or understood."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.config import Settings
from services.analytics.identity import service as identity
from services.analytics.ingest.formats import Item
from services.analytics.ingest.repository import DeliveryKey, IngestRepository
from services.analytics.ingest.schemas import IngestResult, Normalized, RejectedEvent
from shared.db import utcnow
from shared.errors import Unprocessable

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Delivery:
    """One verified webhook request: its id, its valid events and the rejected ones."""

    district_id: str
    integration_id: uuid.UUID
    webhook_id: str
    source: str
    events: list[Normalized]
    rejected: list[RejectedEvent] = field(default_factory=list)


def split_items(items: Sequence[Item], *, is_batch: bool) -> tuple[list[Normalized], list[RejectedEvent]]:
    """Good events and the rejected ones by index; 422 when nothing of the delivery is usable."""
    good: list[Normalized] = []
    rejected: list[RejectedEvent] = []
    for index, item in enumerate(items):
        if isinstance(item, Normalized):
            good.append(item)
        else:
            rejected.append(RejectedEvent(index=index, errors=item))
    if good:
        return good, rejected
    if not rejected:
        raise Unprocessable("the delivery holds no events", field="body")
    if not is_batch:
        first = rejected[0].errors[0]
        raise Unprocessable(f"{first['field']}: {first['message']}", errors=rejected[0].errors)
    errors = [
        {"field": f"[{r.index}].{e['field']}", "message": e["message"]} for r in rejected for e in r.errors
    ]
    raise Unprocessable(
        "no event of the batch is valid", errors=errors, rejected=[r.model_dump() for r in rejected]
    )


async def apply_deliveries(session: AsyncSession, deliveries: Sequence[Delivery]) -> list[IngestResult]:
    """Apply verified deliveries together: replayed webhook-ids and known event ids change nothing."""
    first: dict[DeliveryKey, int] = {}
    for index, d in enumerate(deliveries):
        first.setdefault((d.integration_id, d.webhook_id), index)
    unique = [deliveries[i] for i in sorted(first.values())]
    await identity.resolve(session, unique)
    received_at = utcnow()
    claimed, inserted = await IngestRepository(session).write_group(
        [((d.integration_id, d.webhook_id), d.district_id) for d in unique],
        [((d.integration_id, d.webhook_id), d.district_id, d.source, e) for d in unique for e in d.events],
        received_at=received_at,
    )
    await identity.record(session, unique, inserted, received_at=received_at)
    results: list[IngestResult] = []
    attributed: set[tuple[str, str]] = set()
    for index, d in enumerate(deliveries):
        key = (d.integration_id, d.webhook_id)
        if first[key] != index or key not in claimed:
            results.append(IngestResult(accepted=0, duplicates=0, replay=True))
            continue
        accepted = 0
        for event in d.events:
            event_key = (d.district_id, event.event_id)
            if event_key in inserted and event_key not in attributed:
                attributed.add(event_key)
                accepted += 1
        results.append(
            IngestResult(accepted=accepted, duplicates=len(d.events) - accepted, rejected=d.rejected)
        )
    return results


async def purge_deliveries_job(runtime: ServiceRuntime) -> None:
    """Background job: drop remembered webhook-ids once their timestamps would be refused as stale."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    keep = max(dt.timedelta(days=1), dt.timedelta(seconds=4 * settings.webhook_tolerance_s))
    while True:
        await asyncio.sleep(min(3600.0, keep.total_seconds()))
        try:
            async with runtime.db.transaction() as session:
                purged = await IngestRepository(session).purge_deliveries(before=utcnow() - keep)
            log.info("webhook_deliveries_purged", count=purged)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("webhook_delivery_purge_failed", error=repr(exc))
