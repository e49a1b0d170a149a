"""HTTP routes for vendors."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.catalog.deps import CanChangeCatalog
from services.catalog.vendors import service
from services.catalog.vendors.repository import VendorRepository
from services.catalog.vendors.schemas import VendorCreate, VendorRead, VendorUpdate
from shared.api import Page, PageDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/vendors", tags=["vendors"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VendorRead)
async def create_vendor(body: VendorCreate, session: SessionDep, principal: CanChangeCatalog) -> VendorRead:
    """Add a vendor to the district."""
    return VendorRead.model_validate(
        await service.create_vendor(session, district_id=principal.district_id, data=body)
    )


@router.get("", response_model=Page[VendorRead])
async def list_vendors(
    session: SessionDep, principal: PrincipalDep, page: PageDep, q: str | None = None
) -> Page[VendorRead]:
    """List the district's vendors by name (`q` searches names)."""
    rows, total = await VendorRepository(session).list(
        district_id=principal.district_id, q=q, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[VendorRead.model_validate(v) for v in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{vendor_id}", response_model=VendorRead)
async def get_vendor(vendor_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> VendorRead:
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
