"""Ingestion rules: resolve actors, de-duplicate by delivery and by event id, append, and queue
for counting; count what nobody matched or understood.

An `error` event (a failure the LMS reports while the tool is in use) is also published as
`error-logged` with `source: lms`, in the transaction that appends it and only when it is new, so a
retried delivery publishes nothing twice: the catalog and analytics take it as they take the errors
teachers report through pilots. Its `error_id` is derived from the district and the event id; an event
whose tool is not a catalog tool id (a UUID) is stored but cannot be published.
"""

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
from services.analytics.events import outbox
from services.analytics.identity import service as identity
from services.analytics.ingest.formats import Item
from services.analytics.ingest.repository import DeliveryKey, IngestRepository
from services.analytics.ingest.schemas import ErrorDetail, IngestResult, Normalized, RejectedEvent
from shared.db import utcnow
from shared.errors import Unprocessable
from shared.events import ErrorLogged
from shared.metrics import job_run

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
                if event.kind == "error":
                    await _publish_error(session, district_id=d.district_id, event=event)
        results.append(
            IngestResult(accepted=accepted, duplicates=len(d.events) - accepted, rejected=d.rejected)
        )
    return results


ERROR_IDS = uuid.UUID("8d3c6f1e-2b7a-4e59-9c04-7f1d2a6b5e38")
"""Namespace of the `error_id`s given to the errors LMSs report (stable across retries)."""


async def _publish_error(session: AsyncSession, *, district_id: str, event: Normalized) -> None:
    try:
        tool_id = uuid.UUID(event.tool_id)
    except ValueError:
        log.warning("lms_error_of_unknown_tool", district_id=district_id, tool_id=event.tool_id)
        return
    detail = event.error or ErrorDetail()
    await outbox.add(
        session,
        ErrorLogged(
            tool_id=tool_id,
            error_id=uuid.uuid5(ERROR_IDS, f"{district_id}\x00{event.event_id}"),
            pilot_id=None,
            occurred_at=event.occurred_at,
            class_period=detail.class_period,
            severity=detail.severity,
            category=detail.category,
            description=detail.description or event.feature or "error reported by the LMS",
            source="lms",
        ),
        district_id=district_id,
    )


async def purge_deliveries_job(runtime: ServiceRuntime) -> None:
    """Background job: drop remembered webhook-ids once their timestamps would be refused as stale."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    keep = max(dt.timedelta(days=1), dt.timedelta(seconds=4 * settings.webhook_tolerance_s))
    while True:
        await asyncio.sleep(min(3600.0, keep.total_seconds()))
        try:
            async with job_run(runtime.name, "purge_deliveries"), runtime.db.transaction() as session:
                purged = await IngestRepository(session).purge_deliveries(before=utcnow() - keep)
            log.info("webhook_deliveries_purged", count=purged)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("webhook_delivery_purge_failed", error=repr(exc))
