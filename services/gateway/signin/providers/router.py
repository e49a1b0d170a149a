"""Routes of a district's identity providers and its sign-in audit (`/auth/providers`, `/auth/audit`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from services.gateway.signin.deps import DistrictStaff, Edtech, RepoDep, SignInDep
from services.gateway.signin.providers.schemas import ProviderCreate, ProviderRead, ProviderUpdate
from services.gateway.signin.providers.service import change_provider, ensure_unique_name, new_provider, read
from services.gateway.signin.session import audit
from shared.api import Page, PageDep
from shared.errors import NotFound

router = APIRouter(prefix="/auth", tags=["identity providers"])


class AuthEventRead(BaseModel):
    """One entry of the sign-in audit."""

    id: uuid.UUID
    at: dt.datetime
    kind: str
    subject: str | None
    provider_id: uuid.UUID | None
    address: str | None
    user_agent: str | None
    detail: dict[str, Any]


@router.post("/providers", response_model=ProviderRead, status_code=201)
async def create_provider(
    body: ProviderCreate, request: Request, principal: Edtech, signin: SignInDep, repo: RepoDep
) -> ProviderRead:
    """Register the district's identity provider (a preset fills in what districts' usual ones need)."""
    row = new_provider(
        body,
        district_id=principal.district_id,
        box=signin.box,
        clock=signin.clock,
        production=signin.settings.environment == "production",
    )
    await ensure_unique_name(repo, row)
    repo.add(row)
    audit(
        repo,
        signin,
        request,
        kind="provider_created",
        district_id=row.district_id,
        subject=principal.subject,
        provider_id=row.id,
        name=row.name,
        preset=row.preset,
        issuer=row.issuer,
    )
    return read(row, public_url=signin.settings.public_url)


@router.get("/providers", response_model=list[ProviderRead])
async def list_providers(principal: DistrictStaff, signin: SignInDep, repo: RepoDep) -> list[ProviderRead]:
    """The district's identity providers."""
    rows = await repo.providers(district_id=principal.district_id)
    return [read(r, public_url=signin.settings.public_url) for r in rows]


@router.get("/providers/{provider_id}", response_model=ProviderRead)
async def get_provider(
    provider_id: uuid.UUID, principal: DistrictStaff, signin: SignInDep, repo: RepoDep
) -> ProviderRead:
    """One of the district's identity providers."""
    row = await repo.provider(provider_id, district_id=principal.district_id)
    if row is None:
        raise NotFound("no such identity provider in this district")
    return read(row, public_url=signin.settings.public_url)


@router.patch("/providers/{provider_id}", response_model=ProviderRead)
async def update_provider(
    provider_id: uuid.UUID,
    body: ProviderUpdate,
    request: Request,
    principal: Edtech,
    signin: SignInDep,
    repo: RepoDep,
) -> ProviderRead:
    """Change a provider (claims, role mapping, secret...): the next sign-in on any replica uses it.
    A change to its sign-in rules (all but its name and secret) also ends the sessions of the people
    who signed in with it, so that nobody keeps roles the new rules would not give."""
    row = await repo.provider(provider_id, district_id=principal.district_id)
    if row is None:
        raise NotFound("no such identity provider in this district")
    rules = change_provider(
        row, body, box=signin.box, clock=signin.clock, production=signin.settings.environment == "production"
    )
    await ensure_unique_name(repo, row)
    ended = await repo.end_sessions(row.id) if rules else 0
    changed = sorted(body.model_dump(exclude_unset=True))
    audit(
        repo,
        signin,
        request,
        kind="provider_changed",
        district_id=row.district_id,
        subject=principal.subject,
        provider_id=row.id,
        fields=changed,
        sessions_ended=ended,
    )
    return read(row, public_url=signin.settings.public_url)


@router.delete("/providers/{provider_id}", status_code=204)
async def delete_provider(
    provider_id: uuid.UUID, request: Request, principal: Edtech, signin: SignInDep, repo: RepoDep
) -> Response:
    """Remove a provider; the sessions of people who signed in with it end."""
    row = await repo.provider(provider_id, district_id=principal.district_id)
    if row is None:
        raise NotFound("no such identity provider in this district")
    audit(
        repo,
        signin,
        request,
        kind="provider_deleted",
        district_id=row.district_id,
        subject=principal.subject,
        provider_id=row.id,
        name=row.name,
    )
    await repo.delete_provider(row)
    return Response(status_code=204)


@router.get("/audit", response_model=Page[AuthEventRead])
async def sign_in_audit(principal: DistrictStaff, page: PageDep, repo: RepoDep) -> Page[AuthEventRead]:
    """The district's sign-ins, failed sign-ins, sign-outs and provider changes, newest first."""
    rows, total = await repo.events(district_id=principal.district_id, limit=page.limit, offset=page.offset)
    items = [
        AuthEventRead(
            id=r.id,
            at=r.at,
            kind=r.kind,
            subject=r.subject,
            provider_id=r.provider_id,
            address=r.address,
            user_agent=r.user_agent,
            detail=r.detail,
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
