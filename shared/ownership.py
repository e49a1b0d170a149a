"""Whose id is it: the one rule for an id that a write names and another service owns.

Every row belongs to one district, and so does every id a row names. A service checks the ids it
owns itself against its own tables in the caller's district (the catalog's `get_tool`, the pilots'
`get_pilot`, ...): unknown there is 404 for an id in the path and 422 naming the field for one in
the body. Ids owned by another service are the hard case: services never read each other's tables,
so a catalog tool is known to pilots and analytics, and a pilot to analytics, only from a local
copy fed by the owner's events, and that copy lags (the owner commits, its outbox relays the event,
the consumer stores it). For such an id the copy can answer "this district's", "another
district's" (ids are UUIDs minted by their owner, so an id of one district is never also
legitimately another's), or nothing yet. The rule:

1. An id the copy places in the caller's district is accepted.
2. An id the copy places only in other districts is refused: 422 naming the field, worded exactly
   like an id nobody knows (`unknown tool ... in this district`), so the answer never tells one
   district that an id exists in another. An event whose district the copy contradicts changes
   nothing and is logged (`event_names_another_districts_id`).
3. An id the copy does not know yet is accepted. Refusing it would fail every write naming a new
   tool until its event arrives (normally a second; hours while a consumer is down), tying one
   service's writes to another's event lag. Accepting it costs little: the row is the caller's own,
   only the caller's district reads it, and at worst it names a tool that never arrives. Where a
   write needs a fact only the owner has, it asks the owner instead and then refuses an unknown id
   (pilots confirm a tool's `approved_for_pilot` status with the catalog, as the caller).

`owners` below is what the local copy knows: the districts whose rows hold the id (empty when none
does). The repositories read it; this module only decides.
"""

from __future__ import annotations

from collections.abc import Collection

import structlog

from shared.errors import Unprocessable

log = structlog.get_logger(__name__)


def belongs_elsewhere(owners: Collection[str], district_id: str) -> bool:
    """True when the local copy places the id in other districts and not in `district_id` (rule 2)."""
    return bool(owners) and district_id not in owners


def unknown_here(label: str, value: object) -> str:
    """The words of a refusal: the same for an id of another district as for an id nobody knows."""
    return f"unknown {label} {value} in this district"


def check_owned(owners: Collection[str], *, district_id: str, value: object, field: str, label: str) -> None:
    """Refuse a written id the local copy places in another district: 422 naming `field` (rules 1-3)."""
    if belongs_elsewhere(owners, district_id):
        raise Unprocessable(unknown_here(label, value), field=field)


def event_names_foreign_id(
    owners: Collection[str], *, district_id: str, field: str, value: object, **context: object
) -> bool:
    """True, and logged, when an event of `district_id` names an id the copy places in another district.

    The handler then changes nothing (rule 2); `context` (event id and type) goes to the log.
    """
    if not belongs_elsewhere(owners, district_id):
        return False
    log.warning(
        "event_names_another_districts_id", district_id=district_id, field=field, value=str(value), **context
    )
    return True
