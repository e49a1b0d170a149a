"""Queries on tool documents; the only place their SQL lives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.catalog.models import ToolDocument


class DocumentRepository:
    """Tool documents of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, document: ToolDocument) -> ToolDocument:
        """Stage a new document."""
        self.session.add(document)
        await self.session.flush()
        return document

    async def of_tool(self, *, district_id: str, tool_id: uuid.UUID) -> Sequence[ToolDocument]:
        """A tool's documents without their content, newest first."""
        rows = await self.session.scalars(
            select(ToolDocument)
            .options(defer(ToolDocument.content))
            .where(ToolDocument.district_id == district_id, ToolDocument.tool_id == tool_id)
            .order_by(ToolDocument.uploaded_at.desc(), ToolDocument.id)
        )
        return rows.all()

    async def get(
        self, *, district_id: str, tool_id: uuid.UUID, document_id: uuid.UUID
    ) -> ToolDocument | None:
        """One document of a district's tool, with its content."""
        return (
            await self.session.execute(
                select(ToolDocument).where(
                    ToolDocument.id == document_id,
                    ToolDocument.district_id == district_id,
                    ToolDocument.tool_id == tool_id,
                )
            )
        ).scalar_one_or_none()
