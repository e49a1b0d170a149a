"""HTTP routes for OneRoster imports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from services.analytics.deps import Manager
from services.analytics.rosters import service
from services.analytics.rosters.schemas import RosterImportRead
from shared.api import SessionDep
from shared.errors import UnsupportedMediaType

router = APIRouter(prefix="/rosters", tags=["rosters"])


@router.post(
    "/import",
    response_model=RosterImportRead,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                        },
                    }
                }
            }
        }
    },
)
async def import_roster(request: Request, session: SessionDep, principal: Manager) -> RosterImportRead:
    """Import OneRoster 1.1/1.2 CSVs (multipart or a zip; manifest.csv's bulk/delta/absent honoured)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the OneRoster files as multipart/form-data")
    parts: list[tuple[str, bytes]] = []
    async with request.form(max_files=20) as form:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile) and value.filename:
                parts.append((value.filename, await value.read()))
    files = service.collect_files(parts)
    return await service.import_roster(session, district_id=principal.district_id, files=files)
