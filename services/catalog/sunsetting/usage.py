"""The catalog's one question to analytics: which teachers used a tool (whom a retirement tells)."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import structlog

from shared.auth import Principal
from shared.errors import ServiceUnavailable

log = structlog.get_logger(__name__)


async def teachers_using(
    analytics: httpx.AsyncClient | None, *, principal: Principal, tool_id: uuid.UUID, since: dt.date
) -> dict[str, str | None]:
    """Teacher id -> roster email of the teachers who used the tool since `since`, asked of analytics as
    the caller; 503 when analytics is not configured or cannot answer."""
    if analytics is None:
        raise ServiceUnavailable(
            "analytics is not configured (CATALOG_ANALYTICS_URL), so the catalog cannot learn which "
            "teachers use the tool; name them in teacher_ids"
        )
    try:
        response = await analytics.get(
            f"/api/analytics/tools/{tool_id}/teachers",
            params={"since": since.isoformat()},
            headers={"Authorization": f"Bearer {principal.token}"},
        )
    except httpx.HTTPError as exc:
        log.warning("analytics_unreachable", tool_id=str(tool_id), error=repr(exc))
        raise ServiceUnavailable("analytics cannot be reached to learn who uses the tool; try again") from exc
    if response.status_code != 200:
        log.warning("analytics_refused", tool_id=str(tool_id), status=response.status_code)
        raise ServiceUnavailable(f"analytics answered {response.status_code} when asked who uses the tool")
    return {t["teacher_id"]: t.get("email") for t in response.json()["teachers"]}
