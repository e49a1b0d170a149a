"""Ingestion rules: de-duplicate by delivery and by event id, store, and maintain the rollups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.ingest.formats import Item
from services.analytics.ingest.repository import IngestRepository, RollupKey
from services.analytics.ingest.schemas import IngestResult, Normalized, RejectedEvent
from shared.db import utcnow
from shared.errors import Unprocessable


def rollup_totals(events: Sequence[Normalized]) -> dict[RollupKey, tuple[int, float]]:
    """Sum events into usage_daily keys: (day, tool, user, kind, feature) -> (count, seconds)."""
    totals: dict[RollupKey, tuple[int, float]] = {}
    for e in events:
        key = (e.occurred_at.date(), e.tool_id, e.user_id, e.kind, e.feature or "")
        count, seconds = totals.get(key, (0, 0.0))
        totals[key] = (count + 1, seconds + (e.duration_s or 0.0))
    return totals


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


async def ingest(
    session: AsyncSession,
    *,
    district_id: str,
    integration_id: uuid.UUID,
    webhook_id: str,
    source: str,
    items: Sequence[Item],
    is_batch: bool,
) -> IngestResult:
    """Apply one verified delivery: replays and known event ids change nothing."""
    good, rejected = split_items(items, is_batch=is_batch)
    repo = IngestRepository(session)
    now = utcnow()
    if not await repo.claim_delivery(
        district_id=district_id, integration_id=integration_id, webhook_id=webhook_id, received_at=now
    ):
        return IngestResult(accepted=0, duplicates=0, replay=True)
    unique: dict[str, Normalized] = {}
    for event in good:
        unique.setdefault(event.event_id, event)
    ordered = [unique[k] for k in sorted(unique)]
    inserted = await repo.insert_events(
        district_id=district_id, integration_id=integration_id, source=source, received_at=now, events=ordered
    )
    new = [e for e in ordered if e.event_id in inserted]
    await repo.add_to_rollups(district_id=district_id, totals=rollup_totals(new))
    return IngestResult(accepted=len(new), duplicates=len(good) - len(new), rejected=rejected)
