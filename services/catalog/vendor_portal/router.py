"""HTTP routes of the vendor portal (role `vendor`, invited by the district for one vendor)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from services.catalog.deps import SettingsDep, VendorActor
from services.catalog.documents import service as documents
from services.catalog.documents.schemas import DocumentKind, DocumentRead
from services.catalog.standards import service as standards
from services.catalog.standards.schemas import StandardAlignmentCreate, StandardAlignmentRead
from services.catalog.vendor_portal import service
from services.catalog.vendor_portal.schemas import PortalRead
from services.catalog.vendors.service import vendor_of
from shared.api import SessionDep

router = APIRouter(prefix="/vendor-portal", tags=["vendor portal"])


@router.get("", response_model=PortalRead)
async def portal(session: SessionDep, principal: VendorActor) -> PortalRead:
    """Your vendor and its tools in the district: status, standards mapped, documents uploaded."""
    return await service.portal(session, principal=principal)


@router.post(
    "/tools/{tool_id}/standards", status_code=status.HTTP_201_CREATED, response_model=StandardAlignmentRead
)
async def map_standard(
    tool_id: uuid.UUID, body: StandardAlignmentCreate, session: SessionDep, principal: VendorActor
) -> StandardAlignmentRead:
    """Map one of your tools to a CCSS, NGSS or state standard (vendors map before any pilot begins)."""
    vendor = await vendor_of(session, principal=principal)
    tool = await documents.tool_for(
        session, district_id=principal.district_id, tool_id=tool_id, vendor=vendor
    )
    row = await standards.add_alignment(
        session, district_id=principal.district_id, tool_id=tool.id, actor=principal.subject, data=body
    )
    return StandardAlignmentRead.model_validate(row)


@router.post("/tools/{tool_id}/documents", status_code=status.HTTP_201_CREATED, response_model=DocumentRead)
async def upload_document(
    tool_id: uuid.UUID,
    session: SessionDep,
    principal: VendorActor,
    settings: SettingsDep,
    kind: Annotated[DocumentKind, Form()],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[UploadFile, File(description="The document (PDF, image, text...).")],
) -> DocumentRead:
    """Upload evidence or a privacy document about one of your tools (413 over the size limit)."""
    vendor = await vendor_of(session, principal=principal)
    tool = await documents.tool_for(
        session, district_id=principal.district_id, tool_id=tool_id, vendor=vendor
    )
    return DocumentRead.model_validate(
        await documents.upload(
            session,
            tool=tool,
            vendor=vendor,
            actor=principal.subject,
            kind=kind,
            title=title,
            file=file,
            max_bytes=settings.document_max_bytes,
        )
    )
