"""Rules of the vendor portal: a person acts for the one vendor a district invited them for, on that
vendor's tools only (any other tool is unknown to them); they map tools to standards and upload
documents, and see their vendor's tools with those, nothing else."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.documents import service as documents
from services.catalog.documents.schemas import DocumentRead
from services.catalog.standards.repository import StandardRepository
from services.catalog.standards.schemas import StandardAlignmentRead
from services.catalog.tools.repository import ToolRepository
from services.catalog.tools.schemas import ToolFilters
from services.catalog.vendor_portal.schemas import PortalRead, PortalTool
from services.catalog.vendors.service import vendor_of
from shared.auth import Principal

MAX_TOOLS = 500


async def portal(session: AsyncSession, *, principal: Principal) -> PortalRead:
    """The caller's vendor and its tools in the district, with their standards and documents."""
    vendor = await vendor_of(session, principal=principal)
    tools, _ = await ToolRepository(session).list(
        district_id=principal.district_id, filters=ToolFilters(vendor_id=vendor.id), limit=MAX_TOOLS, offset=0
    )
    alignments = StandardRepository(session)
    rows = []
    for tool in tools:
        mapped, _ = await alignments.list(tool_id=tool.id, limit=MAX_TOOLS, offset=0)
        rows.append(
            PortalTool(
                id=tool.id,
                name=tool.name,
                status=tool.status,
                standards=[StandardAlignmentRead.model_validate(a) for a in mapped],
                documents=[
                    DocumentRead.model_validate(d) for d in await documents.documents(session, tool=tool)
                ],
            )
        )
    return PortalRead(vendor_id=vendor.id, vendor_name=vendor.name, tools=rows)
