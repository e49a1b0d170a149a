"""HTTP routes of rostered people: "me" (my record and my classes) and resolving an identifier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.analytics.deps import Manager, Viewer
from services.analytics.identity.keys import key
from services.analytics.models import RosterUser
from services.analytics.people.repository import PeopleRepository
from services.analytics.people.schemas import ClassRead, PersonRead, ResolvedRead
from shared.api import SessionDep
from shared.errors import NotFound, Unprocessable

router = APIRouter(prefix="/people", tags=["rosters"])


async def _find(
    repo: PeopleRepository,
    district_id: str,
    *,
    sourced_id: str | None,
    email: str | None,
    username: str | None,
) -> tuple[RosterUser, str] | None:
    if sourced_id and (user := await repo.user(district_id=district_id, sourced_id=sourced_id)):
        return user, "sourced_id"
    for kind, value in (("email", email), ("username", username)):
        k = key(kind, value) if value else None
        if k and (user := await repo.user_by_key(district_id=district_id, key=k)):
            return user, kind
    return None


@router.get("/me", response_model=PersonRead)
async def me(session: SessionDep, principal: Viewer) -> PersonRead:
    """The signed-in person's rostered record (by their sourcedId, else their email) and classes."""
    repo = PeopleRepository(session)
    found = await _find(
        repo, principal.district_id, sourced_id=principal.subject, email=principal.email, username=None
    )
    if found is None:
        raise NotFound("you are not in the district's roster (by your id or your email)")
    user, linked_by = found
    rows = await repo.classes(district_id=principal.district_id, user_id=user.sourced_id)
    return PersonRead(
        sourced_id=user.sourced_id,
        role=user.role,
        given_name=user.given_name,
        family_name=user.family_name,
        email=user.email,
        linked_by=linked_by,
        classes=[
            ClassRead(
                sourced_id=c.sourced_id,
                title=c.title,
                role=e.role,
                school_id=c.school_id,
                school_name=school,
                grades=list(c.grades),
                subjects=list(c.subjects),
            )
            for c, e, school in rows
        ],
    )


@router.get("/resolve", response_model=ResolvedRead)
async def resolve(
    session: SessionDep,
    principal: Manager,
    email: Annotated[str | None, Query(max_length=320)] = None,
    username: Annotated[str | None, Query(max_length=200)] = None,
) -> ResolvedRead:
    """The rostered person an email or username names (the gateway links sign-ins with it)."""
    if not email and not username:
        raise Unprocessable("give `email` or `username`", field="email")
    found = await _find(
        PeopleRepository(session), principal.district_id, sourced_id=None, email=email, username=username
    )
    if found is None:
        raise NotFound("nobody in the roster has that identifier")
    return ResolvedRead(sourced_id=found[0].sourced_id, role=found[0].role)
