"""Rules for vendors: names are unique within a district."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Vendor
from services.catalog.vendors.repository import VendorRepository
from services.catalog.vendors.schemas import VendorCreate, VendorUpdate
from shared.errors import Conflict, NotFound, Unprocessable


async def create_vendor(session: AsyncSession, *, district_id: str, data: VendorCreate) -> Vendor:
    """Add a vendor (409 if the district already has one of that name)."""
    repo = VendorRepository(session)
    if await repo.by_name(district_id=district_id, name=data.name) is not None:
        raise Conflict(f"a vendor named {data.name!r} already exists", field="name")
    return await repo.add(Vendor(district_id=district_id, **data.model_dump()))


async def get_vendor(session: AsyncSession, *, district_id: str, vendor_id: uuid.UUID) -> Vendor:
    """A district's vendor; 404 otherwise."""
    vendor = await VendorRepository(session).get(district_id=district_id, vendor_id=vendor_id)
    if vendor is None:
        raise NotFound(f"vendor {vendor_id} not found")
    return vendor


async def update_vendor(
    session: AsyncSession, *, district_id: str, vendor_id: uuid.UUID, data: VendorUpdate
) -> Vendor:
    """Change a vendor's fields."""
    repo = VendorRepository(session)
    vendor = await get_vendor(session, district_id=district_id, vendor_id=vendor_id)
    values = data.model_dump(exclude_unset=True)
    for name in ("name", "dpa_signed"):
        if name in values and values[name] is None:
            raise Unprocessable(f"{name} cannot be null", field=name)
    new_name = values.get("name")
    if new_name and new_name != vendor.name and await repo.by_name(district_id=district_id, name=new_name):
        raise Conflict(f"a vendor named {new_name!r} already exists", field="name")
    for name, value in values.items():
        setattr(vendor, name, value)
    await session.flush()
    return vendor
