"""HTTP routes for a tool's documents, as the district's staff use them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from services.catalog.deps import CanRecordEvidence, SettingsDep, Staff
from services.catalog.documents import service
from services.catalog.documents.schemas import DocumentKind, DocumentRead
from services.catalog.tools.service import get_tool
from shared.api import SessionDep

router = APIRouter(prefix="/tools/{tool_id}/documents", tags=["documents"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DocumentRead)
async def upload_document(
    tool_id: uuid.UUID,
    session: SessionDep,
    principal: CanRecordEvidence,
    settings: SettingsDep,
    kind: Annotated[DocumentKind, Form()],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[UploadFile, File(description="The document (PDF, image, text...).")],
) -> DocumentRead:
    """Upload a document about the tool (413 over CATALOG_DOCUMENT_MAX_BYTES)."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    return DocumentRead.model_validate(
        await service.upload(
            session,
            tool=tool,
            vendor=None,
            actor=principal.subject,
            kind=kind,
            title=title,
            file=file,
            max_bytes=settings.document_max_bytes,
        )
    )


@router.get("", response_model=list[DocumentRead])
async def list_documents(tool_id: uuid.UUID, session: SessionDep, principal: Staff) -> list[DocumentRead]:
    """The tool's documents (its vendor's and the staff's), newest first."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    return [DocumentRead.model_validate(d) for d in await service.documents(session, tool=tool)]


@router.get(
    "/{document_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The document's bytes."}},
)
async def download_document(
    tool_id: uuid.UUID, document_id: uuid.UUID, session: SessionDep, principal: Staff
) -> Response:
    """The document itself, with its content type."""
    tool = await get_tool(session, district_id=principal.district_id, tool_id=tool_id)
    found = await service.document(session, tool=tool, document_id=document_id)
    return Response(
        content=found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
