"""Rules for tool documents: a tool's vendor (its invited people) or the district's technologists and
specialists upload them, up to `document_max_bytes`; the district's staff and the tool's vendor read
them. A vendor acts only on its own tools: another tool is unknown to it (404)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.documents.repository import DocumentRepository
from services.catalog.models import Tool, ToolDocument, Vendor
from services.catalog.tools.service import get_tool
from shared.clock import clock_of
from shared.errors import NotFound, PayloadTooLarge

SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
"""What a stored file name keeps (it goes back in a Content-Disposition header)."""


async def tool_for(
    session: AsyncSession, *, district_id: str, tool_id: uuid.UUID, vendor: Vendor | None
) -> Tool:
    """The district's tool; for a vendor, only one of its own (404 otherwise, as for an unknown id)."""
    tool = await get_tool(session, district_id=district_id, tool_id=tool_id)
    if vendor is not None and tool.vendor_id != vendor.id:
        raise NotFound(f"tool {tool_id} not found")
    return tool


async def upload(
    session: AsyncSession,
    *,
    tool: Tool,
    vendor: Vendor | None,
    actor: str,
    kind: str,
    title: str,
    file: UploadFile,
    max_bytes: int,
) -> ToolDocument:
    """Store an uploaded document about a tool (413 over `max_bytes`: read no further than that)."""
    content = await file.read(max_bytes + 1)
    filename = file.filename or "document"
    content_type = file.content_type or "application/octet-stream"
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"a document holds at most {max_bytes} bytes", field="file")
    return await DocumentRepository(session).add(
        ToolDocument(
            district_id=tool.district_id,
            tool_id=tool.id,
            vendor_id=vendor.id if vendor is not None else tool.vendor_id,
            kind=kind,
            title=title,
            filename=SAFE_NAME.sub("_", filename)[:255] or "document",
            content_type=content_type[:100],
            size=len(content),
            content=content,
            uploaded_by=actor,
            uploaded_at=clock_of(session).now(),
        )
    )


async def documents(session: AsyncSession, *, tool: Tool) -> Sequence[ToolDocument]:
    """A tool's documents, newest first."""
    return await DocumentRepository(session).of_tool(district_id=tool.district_id, tool_id=tool.id)


async def document(session: AsyncSession, *, tool: Tool, document_id: uuid.UUID) -> ToolDocument:
    """One document of a tool; 404 otherwise."""
    found = await DocumentRepository(session).get(
        district_id=tool.district_id, tool_id=tool.id, document_id=document_id
    )
    if found is None:
        raise NotFound(f"document {document_id} not found")
    return found
