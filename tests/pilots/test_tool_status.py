"""The tool status copy: catalog events applied once and in order, and confirmation by the real catalog."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.catalog.app import create_app as create_catalog_app
from services.catalog.config import Settings as CatalogSettings
from services.pilots.app import create_app as create_pilots_app
from services.pilots.config import Settings as PilotsSettings
from services.pilots.db import processed_events
from services.pilots.models import Tool
from services.pilots.tools.repository import ToolRepository
from services.pilots.tools.service import apply_status
from shared.events import ToolStatusChanged
from shared.testing import free_port
from tests.catalog.helpers import approved_tool, register
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import running_app
from tests.pilots.conftest import catalog_tool, feed, message, plan

PILOTS = "/api/pilots/pilots"


async def test_status_changed_twice_is_applied_once_and_late_changes_are_ignored(
    pilots_app: Any, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    tool_id = await catalog_tool(pilots_app, district, status="vetting", name="Padlet")
    approved = message(
        ToolStatusChanged(
            tool_id=tool_id,
            tool_name="Padlet",
            from_status="vetting",
            to_status="approved_for_pilot",
            changed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        ),
        district_id=district,
    )
    await feed(pilots_app, approved)
    await feed(pilots_app, approved)  # redelivered
    late = message(
        ToolStatusChanged(
            tool_id=tool_id,
            tool_name="Padlet",
            from_status="proposed",
            to_status="vetting",
            changed_at=dt.datetime(2026, 1, 15, tzinfo=dt.UTC),
        ),
        district_id=district,
    )
    await feed(pilots_app, late)  # an older change arriving after the newer one

    async with pilots_app.state.runtime.db.transaction() as session:
        tool = await session.get(Tool, tool_id)
        applied = await session.scalar(
            select(func.count())
            .select_from(processed_events)
            .where(processed_events.c.event_id.in_([_event_id(approved), _event_id(late)]))
        )
    assert tool is not None
    assert (tool.status, tool.district_id, tool.updated_at) == (
        "approved_for_pilot",
        district,
        dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )
    assert applied == 2  # the duplicate left no second row

    r = await pilots.get("/api/pilots/tools", headers=auth("teacher"))
    assert [(t["name"], t["status"]) for t in r.json()["items"]] == [("Padlet", "approved_for_pilot")]
    r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))
    assert r.status_code == 201, r.text


def _event_id(msg: Any) -> str:
    import orjson

    return str(orjson.loads(msg.value)["id"])


@pytest.fixture
async def with_catalog(
    database_url: str, auth_settings: dict[str, Any]
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The real catalog app in process, and a pilots app that reaches it through `catalog_http`."""
    common = {
        "database_url": database_url,
        "environment": "test",
        "workers_enabled": False,
        "bus_backend": "memory",
        **auth_settings,
    }
    catalog_app = create_catalog_app(CatalogSettings(**common))
    async with catalog_app.router.lifespan_context(catalog_app):
        transport = httpx.ASGITransport(app=catalog_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as catalog_http:
            pilots_app = create_pilots_app(PilotsSettings(**common), catalog_http=catalog_http)
            async with running_app(pilots_app) as pilots_client:
                yield catalog_http, pilots_client


async def test_pilots_confirms_with_the_real_catalog(
    with_catalog: tuple[httpx.AsyncClient, httpx.AsyncClient], auth: TokenFactory
) -> None:
    catalog, pilots = with_catalog
    tool = await approved_tool(catalog, auth, name="GeoGebra")
    assert tool["status"] == "approved_for_pilot"
    assert (await pilots.get("/api/pilots/tools", headers=auth("edtech"))).json()["total"] == 0

    r = await pilots.post(PILOTS, json=plan(uuid.UUID(tool["id"])), headers=auth("edtech"))
    assert r.status_code == 201, r.text
    copy = (await pilots.get("/api/pilots/tools", headers=auth("edtech"))).json()["items"]
    assert [(t["id"], t["name"], t["status"]) for t in copy] == [
        (tool["id"], "GeoGebra", "approved_for_pilot")
    ]

    proposed = await register(catalog, auth, name="Blooket")
    r = await pilots.post(PILOTS, json=plan(uuid.UUID(proposed["id"])), headers=auth("edtech"))
    assert r.status_code == 409
    assert "'Blooket' is proposed in the catalog" in r.json()["detail"]

    r = await pilots.post(PILOTS, json=plan(uuid.uuid4()), headers=auth("edtech"))
    assert r.status_code == 422
    assert "in this district" in r.json()["detail"]

    r = await pilots.post(
        PILOTS, json=plan(uuid.UUID(tool["id"])), headers=auth("edtech", district_id="elsewhere")
    )
    assert r.status_code == 422  # the catalog answers 404 to another district
    assert r.json()["errors"][0]["field"] == "tool_id"


async def test_catalog_down_answers_503_only_for_unknown_tools(
    database_url: str, auth_settings: dict[str, Any], auth: TokenFactory, district: str
) -> None:
    settings = PilotsSettings(
        database_url=database_url,
        environment="test",
        workers_enabled=False,
        catalog_url=f"http://127.0.0.1:{free_port()}",
        **auth_settings,
    )
    app = create_pilots_app(settings)  # builds (and closes) its own client from `catalog_url`
    async with running_app(app) as pilots:
        r = await pilots.post(PILOTS, json=plan(uuid.uuid4()), headers=auth("edtech"))
        assert r.status_code == 503
        assert "catalog cannot be reached" in r.json()["detail"]
        tool_id = await catalog_tool(app, district, status="vetting", name="Seesaw")
        r = await pilots.post(PILOTS, json=plan(tool_id), headers=auth("edtech"))
        assert r.status_code == 409
        assert r.json()["tool_status"] == "vetting"
    assert app.state.catalog_http.is_closed


async def test_a_copy_committed_between_two_reads_is_updated_not_refused(
    pilots_app: Any, district: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An event and a request confirming the tool with the catalog race: the copy the event commits
    # appears after this transaction first looked. It is this district's own tool, not another's.
    tool_id = await catalog_tool(pilots_app, district, status="approved_for_pilot", name="Padlet")
    real_get = ToolRepository.get
    reads: list[int] = []

    async def first_read_before_the_commit(self: ToolRepository, **kwargs: Any) -> Tool | None:
        reads.append(1)
        return None if len(reads) == 1 else await real_get(self, **kwargs)

    monkeypatch.setattr(ToolRepository, "get", first_read_before_the_commit)
    async with pilots_app.state.runtime.db.transaction() as session:
        tool = await apply_status(
            session,
            district_id=district,
            tool_id=tool_id,
            name="Padlet",
            status="piloting",
            at=dt.datetime.now(dt.UTC),
        )
    assert tool is not None and tool.status == "piloting"
