"""What a roster import derives for grouping: each user's grade levels, subjects and schools, and
the counter groups they make (`counting.service.user_groups`), a page of people at a time."""

from __future__ import annotations

from collections.abc import Collection

from services.analytics.counting.service import user_groups
from services.analytics.rosters.repository import RosterRepository

PEOPLE_PAGE = 2000
"""People whose attributes and groups are derived at once."""


def _attributes(
    users: Collection[tuple[str, str | None, list[str] | None]],
    memberships: Collection[tuple[str, str, list[str] | None, list[str] | None]],
) -> set[tuple[str, str, str]]:
    """(user, kind, value) rows: own grades and school, and each class's school, subjects and
    (for a user without grades of their own) grades."""
    attributes: set[tuple[str, str, str]] = set()
    own_grades: dict[str, list[str]] = {}
    for user_id, school_id, grades in users:
        own_grades[user_id] = list(grades or [])
        attributes.update((user_id, "grade", g) for g in grades or [])
        if school_id:
            attributes.add((user_id, "school", school_id))
    for user_id, school_id, grades, subjects in memberships:
        attributes.add((user_id, "school", school_id))
        attributes.update((user_id, "subject", s) for s in subjects or [])
        if not own_grades.get(user_id):
            attributes.update((user_id, "grade", g) for g in grades or [])
    return attributes


async def rebuild_attributes(repo: RosterRepository, district_id: str) -> None:
    """Derive each user's grade levels, subjects, schools and counter groups, a page of people at a time.

    The counters are recounted with the new groups in the background (`counting.service.regroup`,
    asked for by the import), so an import never holds the district's ingestion or counting up.
    """
    await repo.clear_derived(district_id)
    after: str | None = None
    while (last := await repo.people_page_end(district_id, after=after, size=PEOPLE_PAGE)) is not None:
        users = await repo.users(district_id, after=after, through=last)
        memberships = await repo.class_memberships(district_id, after=after, through=last)
        attributes = _attributes(users, memberships)
        await repo.add_attributes(district_id, sorted(attributes))
        await repo.add_groups(district_id, user_groups(attributes, [u for u, *_ in users]))
        after = last
