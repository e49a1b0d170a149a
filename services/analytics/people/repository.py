"""SQL of the people routes: the roster's users, their enrollments and the identity key index."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.models import RosterClass, RosterEnrollment, RosterIdentity, RosterOrg, RosterUser


class PeopleRepository:
    """Queries of rostered people, in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user(self, *, district_id: str, sourced_id: str) -> RosterUser | None:
        """A rostered user by sourcedId."""
        return await self.session.get(RosterUser, (district_id, sourced_id))

    async def user_by_key(self, *, district_id: str, key: str) -> RosterUser | None:
        """The rostered user an identity key (`email:...`, `username:...`) names unambiguously."""
        query = (
            select(RosterUser)
            .join(
                RosterIdentity,
                (RosterIdentity.district_id == RosterUser.district_id)
                & (RosterIdentity.user_id == RosterUser.sourced_id),
            )
            .where(RosterIdentity.district_id == district_id, RosterIdentity.key == key)
        )
        return (await self.session.scalars(query)).first()

    async def classes(
        self, *, district_id: str, user_id: str
    ) -> Sequence[tuple[RosterClass, RosterEnrollment, str | None]]:
        """The user's classes with the enrollment and the school's name, by title."""
        query = (
            select(RosterClass, RosterEnrollment, RosterOrg.name)
            .join(
                RosterEnrollment,
                (RosterEnrollment.district_id == RosterClass.district_id)
                & (RosterEnrollment.class_id == RosterClass.sourced_id),
            )
            .outerjoin(
                RosterOrg,
                (RosterOrg.district_id == RosterClass.district_id)
                & (RosterOrg.sourced_id == RosterClass.school_id),
            )
            .where(RosterEnrollment.district_id == district_id, RosterEnrollment.user_id == user_id)
            .order_by(RosterClass.title, RosterClass.sourced_id)
        )
        return [(c, e, name) for c, e, name in (await self.session.execute(query)).all()]
