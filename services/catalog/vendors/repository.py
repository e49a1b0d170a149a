"""Queries on vendors; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Vendor, VendorMember


class VendorRepository:
    """Vendors of one session, always scoped to a district."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, district_id: str, vendor_id: uuid.UUID) -> Vendor | None:
        """A district's vendor by id, or None."""
        return (
            await self.session.execute(
                select(Vendor).where(Vendor.id == vendor_id, Vendor.district_id == district_id)
            )
        ).scalar_one_or_none()

    async def by_name(self, *, district_id: str, name: str) -> Vendor | None:
        """A district's vendor by exact name, or None."""
        return (
            await self.session.execute(
                select(Vendor).where(Vendor.district_id == district_id, Vendor.name == name)
            )
        ).scalar_one_or_none()

    async def list(
        self, *, district_id: str, q: str | None, limit: int, offset: int
    ) -> tuple[Sequence[Vendor], int]:
        """A page of a district's vendors by name, and the total matching."""
        where = [Vendor.district_id == district_id]
        if q:
            where.append(func.lower(Vendor.name).contains(q.lower(), autoescape=True))
        total = await self.session.scalar(select(func.count()).select_from(Vendor).where(*where))
        rows = await self.session.scalars(
            select(Vendor).where(*where).order_by(Vendor.name, Vendor.id).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def member(self, *, district_id: str, subject: str) -> VendorMember | None:
        """The invitation of a person (by IdP subject) in a district, or None."""
        return (
            await self.session.execute(
                select(VendorMember).where(
                    VendorMember.district_id == district_id, VendorMember.subject == subject
                )
            )
        ).scalar_one_or_none()

    async def members(self, *, vendor_id: uuid.UUID) -> Sequence[VendorMember]:
        """A vendor's invited people, oldest first."""
        rows = await self.session.scalars(
            select(VendorMember).where(VendorMember.vendor_id == vendor_id).order_by(VendorMember.invited_at)
        )
        return rows.all()

    async def add_member(self, member: VendorMember) -> VendorMember:
        """Stage an invitation."""
        self.session.add(member)
        await self.session.flush()
        return member

    async def remove_member(self, member: VendorMember) -> None:
        """Withdraw an invitation."""
        await self.session.delete(member)
        await self.session.flush()

    async def add(self, vendor: Vendor) -> Vendor:
        """Stage a new vendor."""
        self.session.add(vendor)
        await self.session.flush()
        return vendor
