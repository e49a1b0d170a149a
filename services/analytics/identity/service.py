"""Identity rules: resolve actors as events arrive, re-resolve the unmatched after a roster import."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.repository import aggregates_lock
from services.analytics.counting.service import request_rebuild
from services.analytics.identity.repository import IdentityRepository, UnmatchedRow, UnrecognizedRow
from services.analytics.ingest.schemas import UNRECOGNIZED
from shared.db import advisory_lock

if TYPE_CHECKING:
    from services.analytics.ingest.service import Delivery

log = structlog.get_logger(__name__)

MOVED = Counter(
    "analytics_actors_matched_later_total",
    "Unmatched LMS actors a roster import matched (their events moved)",
)
MAX_IDENTIFIERS = 20
"""Most identifiers remembered of one unmatched actor."""


async def resolve(session: AsyncSession, deliveries: Iterable[Delivery]) -> None:
    """Name each event's person: the first of its actor keys the roster knows (in place).

    Events without actor keys (the platform format carries sourcedIds) are left as they are; the
    others keep their actor's own name when nobody matches.
    """
    wanted: dict[str, set[str]] = {}
    for d in deliveries:
        for e in d.events:
            if e.identities:
                wanted.setdefault(d.district_id, set()).update(e.identities)
    if not wanted:
        return
    repo = IdentityRepository(session)
    found = {district: await repo.resolve(district, keys) for district, keys in wanted.items()}
    for d in deliveries:
        known = found.get(d.district_id, {})
        for e in d.events:
            for k in e.identities:
                if k in known:
                    e.user_id = known[k]
                    e.identities = ()  # matched
                    break


async def record(
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    inserted: set[tuple[str, str]],
    *,
    received_at: dt.datetime,
) -> None:
    """Count the new events of unmatched actors and of unrecognized activities, per integration."""
    if not any(e.identities or e.kind == UNRECOGNIZED for d in deliveries for e in d.events):
        return  # the usual case: nothing to record, nothing more to look at
    actors: dict[tuple[str, uuid.UUID, str], tuple[list[str], int]] = {}
    names: dict[tuple[uuid.UUID, str], tuple[str, int]] = {}
    seen: set[tuple[str, str]] = set()
    for d in deliveries:
        for e in d.events:
            k = (d.district_id, e.event_id)
            if k not in inserted or k in seen:
                continue
            seen.add(k)
            if e.identities:
                ids, n = actors.get((d.district_id, d.integration_id, e.user_id), ([], 0))
                merged = list(dict.fromkeys([*ids, *e.identities]))[:MAX_IDENTIFIERS]
                actors[(d.district_id, d.integration_id, e.user_id)] = (merged, n + 1)
            if e.kind == UNRECOGNIZED and e.feature:
                _, n = names.get((d.integration_id, e.feature), (d.district_id, 0))
                names[(d.integration_id, e.feature)] = (d.district_id, n + 1)
    repo = IdentityRepository(session)
    if actors:
        rows: list[UnmatchedRow] = [(d, i, a, ids, n, received_at) for (d, i, a), (ids, n) in actors.items()]
        await repo.record_unmatched(rows)
    if names:
        named: list[UnrecognizedRow] = [(i, name, d, n, received_at) for (i, name), (d, n) in names.items()]
        await repo.record_unrecognized(named)


async def reindex(session: AsyncSession, district_id: str) -> int:
    """After a roster import: index the roster's keys and give matched actors their events.

    Returns how many actors were matched now. Their events move to the person (stored and still
    queued ones) under the district's aggregates lock, so no counting pass sees half of it, and a
    recount of the district is requested: the workers run it in the background.
    """
    repo = IdentityRepository(session)
    await repo.reindex(district_id)
    actors = await repo.unmatched(district_id)
    if not actors:
        return 0
    known = await repo.resolve(district_id, {k for a in actors for k in a.identifiers})
    matched = [
        (a, known[k]) for a in actors for k in [next((k for k in a.identifiers if k in known), None)] if k
    ]
    if not matched:
        return 0
    await advisory_lock(session, aggregates_lock(district_id))
    moved = 0
    for actor, user_id in matched:
        moved += await repo.move(actor, user_id)
    await request_rebuild(session, district_id)
    MOVED.inc(len(matched))
    log.info("actors_matched", district_id=district_id, actors=len(matched), events=moved)
    return len(matched)
