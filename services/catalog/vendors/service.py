"""Rules for vendors: names are unique within a district; a district invites the people who act for a
vendor (role `vendor`), each for one vendor of one district."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Vendor, VendorMember
from services.catalog.vendors.repository import VendorRepository
from services.catalog.vendors.schemas import VendorCreate, VendorMemberCreate, VendorUpdate
from shared.auth import Principal
from shared.clock import clock_of
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable


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


async def invite_member(
    session: AsyncSession, *, district_id: str, vendor_id: uuid.UUID, actor: str, data: VendorMemberCreate
) -> VendorMember:
    """Invite a person (by IdP subject) to act for a vendor (409 if they already act for one)."""
    vendor = await get_vendor(session, district_id=district_id, vendor_id=vendor_id)
    repo = VendorRepository(session)
    if await repo.member(district_id=district_id, subject=data.subject) is not None:
        raise Conflict(f"{data.subject!r} is already invited for a vendor of this district", field="subject")
    return await repo.add_member(
        VendorMember(
            district_id=district_id,
            vendor_id=vendor.id,
            subject=data.subject,
            invited_by=actor,
            invited_at=clock_of(session).now(),
        )
    )


async def withdraw_member(
    session: AsyncSession, *, district_id: str, vendor_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """Withdraw an invitation (404 if the vendor has no such member)."""
    vendor = await get_vendor(session, district_id=district_id, vendor_id=vendor_id)
    repo = VendorRepository(session)
    member = next((m for m in await repo.members(vendor_id=vendor.id) if m.id == member_id), None)
    if member is None:
        raise NotFound(f"member {member_id} not found")
    await repo.remove_member(member)


async def vendor_of(session: AsyncSession, *, principal: Principal) -> Vendor:
    """The vendor a `vendor` principal was invited to act for (403 when no district invited them)."""
    member = await VendorRepository(session).member(
        district_id=principal.district_id, subject=principal.subject
    )
    if member is None:
        raise Forbidden("no vendor of this district invited you: ask the district's technologist")
    return await get_vendor(session, district_id=principal.district_id, vendor_id=member.vendor_id)


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
