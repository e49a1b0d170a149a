"""The same catalog code on the embedded default (SQLite): filters, gates, events, the retirement job."""

from __future__ import annotations

import datetime as dt
import uuid

from services.catalog.sunsetting.service import retire_due
from shared.events import ErrorLogged, PilotStarted
from tests.catalog.helpers import BASE, adopted_tool, deliver, message, register
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory


async def test_catalog_runs_on_sqlite(
    service_app: AppFactory, sqlite_catalog_url: str, auth: TokenFactory, district: str
) -> None:
    async with service_app("catalog", database_url=sqlite_catalog_url) as (app, api):
        assert app.state.runtime.db.is_sqlite
        tool = await adopted_tool(api, auth, subjects=["math"], grade_bands=["6-8"], description="50%_off")
        other = await register(api, auth, subjects=["ela"])
        started = PilotStarted(
            tool_id=uuid.UUID(other["id"]),
            pilot_id=uuid.uuid4(),
            teacher_ids=["t1"],
            start_date=dt.date(2026, 1, 5),
            end_date=dt.date(2026, 2, 2),
        )
        await deliver(app, message(started, district), times=2)
        flags = (await api.get(f"{BASE}/tools/{other['id']}/flags", headers=auth("edtech"))).json()["items"]
        assert len(flags) == 1 and "could not move to piloting" in flags[0]["note"]
        r = await api.get(
            f"{BASE}/tools", params={"subject": "math", "grade_band": "6-8"}, headers=auth("teacher")
        )
        assert [t["id"] for t in r.json()["items"]] == [tool["id"]]
        r = await api.get(f"{BASE}/tools", params={"q": "%_off"}, headers=auth("teacher"))
        assert [t["id"] for t in r.json()["items"]] == [tool["id"]]
        err = ErrorLogged(
            tool_id=uuid.UUID(tool["id"]),
            error_id=uuid.uuid4(),
            severity="high",
            occurred_at=dt.datetime(2026, 1, 7, tzinfo=dt.UTC),
            description="timeout",
        )
        await deliver(app, message(err, district), times=2)
        r = await api.get(f"{BASE}/tools/{tool['id']}/reliability", headers=auth("teacher"))
        assert r.json()["total_errors"] == 1
        ret = await api.post(
            f"{BASE}/tools/{tool['id']}/retirement",
            json={"archive_location": "./archive", "teacher_ids": ["t-1"]},
            headers=auth("edtech"),
        )
        assert ret.status_code == 201, ret.text
        ends = dt.datetime.fromisoformat(ret.json()["notice_ends_at"])
        async with app.state.runtime.db.transaction() as session:
            retired, _ = await retire_due(session, now=ends + dt.timedelta(seconds=1), district_id=district)
        assert len(retired) == 1
        r = await api.get(f"{BASE}/tools/{tool['id']}", headers=auth("teacher"))
        assert r.json()["status"] == "retired"
