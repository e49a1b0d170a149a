"""HTTP routes for vendors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from services.catalog.deps import CanChangeCatalog, Member
from services.catalog.vendors import service
from services.catalog.vendors.repository import VendorRepository
from services.catalog.vendors.schemas import (
    VendorCreate,
    VendorMemberCreate,
    VendorMemberRead,
    VendorRead,
    VendorUpdate,
)
from shared.api import Page, PageDep, SessionDep

router = APIRouter(prefix="/vendors", tags=["vendors"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VendorRead)
async def create_vendor(body: VendorCreate, session: SessionDep, principal: CanChangeCatalog) -> VendorRead:
    """Add a vendor to the district."""
    return VendorRead.model_validate(
        await service.create_vendor(session, district_id=principal.district_id, data=body)
    )


@router.get("", response_model=Page[VendorRead])
async def list_vendors(
    session: SessionDep, principal: Member, page: PageDep, q: str | None = None
) -> Page[VendorRead]:
    """List the district's vendors by name (`q` searches names)."""
    rows, total = await VendorRepository(session).list(
        district_id=principal.district_id, q=q, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[VendorRead.model_validate(v) for v in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{vendor_id}", response_model=VendorRead)
async def get_vendor(vendor_id: uuid.UUID, session: SessionDep, principal: Member) -> VendorRead:
    """One vendor of the district."""
    return VendorRead.model_validate(
        await service.get_vendor(session, district_id=principal.district_id, vendor_id=vendor_id)
    )


@router.patch("/{vendor_id}", response_model=VendorRead)
async def update_vendor(
    vendor_id: uuid.UUID, body: VendorUpdate, session: SessionDep, principal: CanChangeCatalog
) -> VendorRead:
    """Change a vendor's fields."""
    return VendorRead.model_validate(
        await service.update_vendor(
            session, district_id=principal.district_id, vendor_id=vendor_id, data=body
        )
    )


@router.post("/{vendor_id}/members", status_code=status.HTTP_201_CREATED, response_model=VendorMemberRead)
async def invite_member(
    vendor_id: uuid.UUID, body: VendorMemberCreate, session: SessionDep, principal: CanChangeCatalog
) -> VendorMemberRead:
    """Invite a person (their IdP subject, with the `vendor` role) to act for the vendor: map its tools to
    standards and upload their documents in the vendor portal, and see nothing else."""
    member = await service.invite_member(
        session, district_id=principal.district_id, vendor_id=vendor_id, actor=principal.subject, data=body
    )
    return VendorMemberRead.model_validate(member)


@router.get("/{vendor_id}/members", response_model=list[VendorMemberRead])
async def list_members(
    vendor_id: uuid.UUID, session: SessionDep, principal: CanChangeCatalog
) -> list[VendorMemberRead]:
    """The people invited to act for the vendor."""
    vendor = await service.get_vendor(session, district_id=principal.district_id, vendor_id=vendor_id)
    return [
        VendorMemberRead.model_validate(m)
        for m in await VendorRepository(session).members(vendor_id=vendor.id)
    ]


@router.delete("/{vendor_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_member(
    vendor_id: uuid.UUID, member_id: uuid.UUID, session: SessionDep, principal: CanChangeCatalog
) -> Response:
    """Withdraw an invitation: the person no longer acts for the vendor."""
    await service.withdraw_member(
        session, district_id=principal.district_id, vendor_id=vendor_id, member_id=member_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
