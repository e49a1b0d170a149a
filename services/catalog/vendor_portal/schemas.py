"""Response bodies of the vendor portal."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from services.catalog.documents.schemas import DocumentRead
from services.catalog.standards.schemas import StandardAlignmentRead
from shared.events.contracts import ToolStatus


class PortalTool(BaseModel):
    """One of the vendor's tools: its status, the standards it is mapped to, its documents."""

    id: uuid.UUID
    name: str
    status: ToolStatus
    standards: list[StandardAlignmentRead]
    documents: list[DocumentRead]


class PortalRead(BaseModel):
    """The vendor a person acts for, and its tools in the district."""

    vendor_id: uuid.UUID
    vendor_name: str
    tools: list[PortalTool]
