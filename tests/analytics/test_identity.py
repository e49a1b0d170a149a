"""Every event lands on the right person, and every verb means what it says.

Actors are matched to rostered people by sourcedId, SIS id, login, email (xAPI `mbox` and
`mbox_sha1sum`) and the systems' own user ids (OneRoster `userIds`, Canvas global and local ids);
the unmatched are listed per integration and move to the person when a later roster import
matches them. The payloads are the real senders' own (`tests/fixtures/lms`, sources in its README).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from tests.analytics.dataset import integration_events, settle
from tests.analytics.roster_data import ORGS, upload
from tests.fixtures.auth import TokenFactory

LMS = Path(__file__).parent.parent / "fixtures" / "lms"
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)


def fixture(path: str) -> Any:
    return orjson.loads((LMS / path).read_bytes())


def user_row(
    sourced_id: str,
    *,
    username: str = "",
    user_ids: str = "",
    identifier: str = "",
    email: str = "",
    grades: str = "05",
) -> str:
    fields = [sourced_id, "active", "2026-01-01", "true", "sch-1", "student", username, f'"{user_ids}"']
    return ",".join([*fields, "G", "F", "", identifier, email, "", "", "", grades, ""]) + "\n"


async def new_integration(client: httpx.AsyncClient, auth: TokenFactory, **extra: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/analytics/integrations",
        headers=auth("edtech"),
        json={"name": "LMS", "tool_id": str(uuid.uuid4()), **extra},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


class Senders:
    """The integration's senders, each with the credential its standard uses."""

    def __init__(self, client: httpx.AsyncClient, integration: dict[str, Any]) -> None:
        self.client = client
        self.endpoints = integration["endpoints"]

    async def xapi(self, statements: Any) -> httpx.Response:
        xapi = self.endpoints["xapi"]
        auth = base64.b64encode(f"{xapi['username']}:{xapi['password']}".encode()).decode()
        r = await self.client.post(
            xapi["url"] + "statements",
            content=orjson.dumps(statements),
            headers={
                "Authorization": f"Basic {auth}",
                "X-Experience-API-Version": "1.0.3",
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
        return r

    async def canvas(self, event: Any) -> None:
        r = await self.client.post(self.endpoints["canvas"]["url"], json=event)
        assert r.status_code == 200, r.text

    async def caliper(self, envelope: Any) -> None:
        caliper = self.endpoints["caliper"]
        r = await self.client.post(
            caliper["url"],
            content=orjson.dumps(envelope),
            headers={"Authorization": f"Bearer {caliper['token']}", "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text


async def test_real_payloads_count_as_what_they_say(
    analytics: httpx.AsyncClient, analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory
) -> None:
    integration = await new_integration(analytics, auth)
    send = Senders(analytics, integration)
    expected = {
        "moodle/user_loggedin.json": "login",
        "moodle/user_loggedin_v4_7.json": "login",  # Brindlewaye's loggedin/ with its slash
        "moodle/user_loggedout.json": "logout",
        "moodle/course_viewed.json": "viewed",
        "moodle/course_module_viewed.json": "viewed",
        "moodle/quiz_attempt_started.json": "assignment_started",
        "moodle/assignment_submitted.json": "assignment_submitted",
    }
    for path, kind in expected.items():
        r = await send.xapi(fixture(path))
        (event_id,) = r.json()[-1:]
        rows = {e.event_id: e for e in await integration_events(analytics_app[0], integration["id"])}
        assert rows[event_id].kind == kind, path
    for path, kind in {
        "canvas/live_logged_in.json": "login",
        "canvas/live_asset_accessed.json": "viewed",
        "canvas/live_submission_created.json": "assignment_submitted",
    }.items():
        before = {e.event_id for e in await integration_events(analytics_app[0], integration["id"])}
        await send.canvas(fixture(path))
        (new,) = [
            e
            for e in await integration_events(analytics_app[0], integration["id"])
            if e.event_id not in before
        ]
        assert new.kind == kind, path
    for path in ("canvas/caliper_logged_in.json", "caliper/v1p2_envelope.json"):
        await send.caliper(fixture(path))
    kinds = {e.kind for e in await integration_events(analytics_app[0], integration["id"])}
    assert "feature_used" not in kinds and "unrecognized" not in kinds
    r = await analytics.get(
        f"/api/analytics/integrations/{integration['id']}/unrecognized", headers=auth("edtech")
    )
    assert r.json()["items"] == []


async def test_actors_match_rostered_people_by_any_identifier(
    analytics: httpx.AsyncClient, analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory
) -> None:
    users = (
        USERS_HEADER
        + user_row(
            "s1",
            username="jdoe",
            user_ids="{Canvas:42},{Moodle:7}",
            identifier="456-T45",
            email="Ada@Example.org",
        )
        + user_row("s2", email="shared@example.org")
        + user_row("s3", email="shared@example.org")  # two people, one email: it names nobody
    )
    r = await upload(analytics, auth("edtech"), {"orgs.csv": ORGS, "users.csv": users})
    assert r.status_code == 200, r.text
    integration = await new_integration(analytics, auth)
    send = Senders(analytics, integration)

    def statement(actor: dict[str, Any]) -> dict[str, Any]:
        return {
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": f"https://lms.example/a/{uuid.uuid4()}"},
            "timestamp": "2026-03-03T10:00:00Z",
        }

    sha1 = hashlib.sha1(b"mailto:ada@example.org").hexdigest()  # noqa: S324 (xAPI's mbox_sha1sum)
    ids = (
        await send.xapi(
            [
                statement({"mbox": "mailto:ada@example.org"}),
                statement({"mbox_sha1sum": sha1}),
                statement(
                    {"account": {"homePage": "https://moodle.example.edu", "name": "7"}}
                ),  # Moodle user id
                statement({"mbox": "mailto:shared@example.org"}),
                statement({"account": {"homePage": "https://moodle.example.edu", "name": "stranger"}}),
            ]
        )
    ).json()
    canvas = fixture("canvas/live_logged_in.json")
    meta = {k: v for k, v in canvas["metadata"].items() if k not in ("user_sis_id", "user_login")}
    await send.canvas(
        {**canvas, "metadata": {**meta, "user_id": "21070000000000042", "event_id": "c-global"}}
    )
    await send.canvas({**canvas, "metadata": {**meta, "user_login": "JDOE", "event_id": "c-login"}})
    caliper = fixture("caliper/v1p2_envelope.json")
    event = {
        **caliper["data"][0],
        "id": "urn:uuid:" + str(uuid.uuid4()),
        "actor": {
            "id": "https://example.edu/users/554433",
            "type": "Person",
            "otherIdentifiers": [
                {"type": "SystemIdentifier", "identifierType": "SisSourcedId", "identifier": "456-T45"}
            ],
        },
    }
    await send.caliper({**caliper, "data": [event]})

    by_id = {e.event_id: e.user_id for e in await integration_events(analytics_app[0], integration["id"])}
    assert [by_id[i] for i in ids] == ["s1", "s1", "s1", "shared@example.org", "stranger"]
    assert by_id["c-global"] == "s1" and by_id["c-login"] == "s1"
    assert by_id[event["id"]] == "s1"

    r = await analytics.get(
        f"/api/analytics/integrations/{integration['id']}/unmatched-actors", headers=auth("edtech")
    )
    assert r.status_code == 200
    unmatched = {a["actor_key"]: a for a in r.json()["items"]}
    assert set(unmatched) == {"shared@example.org", "stranger"}
    assert unmatched["shared@example.org"]["events"] == 1
    assert "email:shared@example.org" in unmatched["shared@example.org"]["identifiers"]
    # another district's edtech sees nothing of it
    r = await analytics.get(
        f"/api/analytics/integrations/{integration['id']}/unmatched-actors",
        headers=auth("edtech", district_id="elsewhere"),
    )
    assert r.status_code == 404


async def test_a_later_roster_import_moves_the_events_and_the_dashboards_follow(
    analytics: httpx.AsyncClient, analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory
) -> None:
    runtime = analytics_app[0].state.runtime
    integration = await new_integration(analytics, auth)
    send = Senders(analytics, integration)
    login = fixture("moodle/user_loggedin.json")[0]
    newcomer = {"name": "New Kid", "mbox": "mailto:newkid@example.org"}
    await send.xapi([{**login, "actor": newcomer, "timestamp": f"2026-03-0{d}T10:00:00Z"} for d in (2, 3, 4)])
    await settle(runtime)
    query = {"from": "2026-03-01", "to": "2026-03-31", "period": "month", "group_by": "grade"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=query, headers=auth("edtech"))
    assert [(row["group"], row["logins"], row["active_users"]) for row in r.json()["rows"]] == [
        ("unassigned", 3, 1)
    ]

    users = USERS_HEADER + user_row("kid-1", email="newkid@example.org", grades="05")
    r = await upload(analytics, auth("edtech"), {"orgs.csv": ORGS, "users.csv": users})
    assert r.status_code == 200, r.text
    r = await analytics.get(
        f"/api/analytics/integrations/{integration['id']}/unmatched-actors", headers=auth("edtech")
    )
    assert r.json()["items"] == []
    assert {e.user_id for e in await integration_events(analytics_app[0], integration["id"])} == {"kid-1"}
    r = await analytics.get("/api/analytics/dashboards/logins", params=query, headers=auth("edtech"))
    assert r.json()["freshness"]["groups_current"] is False  # the recount is queued for the workers
    await settle(runtime)
    r = await analytics.get("/api/analytics/dashboards/logins", params=query, headers=auth("edtech"))
    assert r.json()["freshness"]["groups_current"] is True
    assert [(row["group"], row["logins"], row["active_users"]) for row in r.json()["rows"]] == [("05", 3, 1)]


async def test_unknown_verbs_are_reported_never_features_and_overrides_map_them(
    analytics: httpx.AsyncClient, analytics_app: tuple[FastAPI, httpx.AsyncClient], auth: TokenFactory
) -> None:
    integration = await new_integration(analytics, auth)
    send = Senders(analytics, integration)
    verb = "https://lms.example/verbs/checked-in"
    login = fixture("moodle/user_loggedin.json")[0]
    await send.xapi([{**login, "verb": {"id": verb}, "timestamp": f"2026-03-0{d}T10:00:00Z"} for d in (2, 3)])
    rows = await integration_events(analytics_app[0], integration["id"])
    assert [(e.kind, e.feature) for e in rows] == [("unrecognized", verb)] * 2
    r = await analytics.get(
        f"/api/analytics/integrations/{integration['id']}/unrecognized", headers=auth("edtech")
    )
    assert [(x["name"], x["events"]) for x in r.json()["items"]] == [(verb, 2)]

    r = await analytics.put(
        f"/api/analytics/integrations/{integration['id']}/vocabulary",
        headers=auth("edtech"),
        json={"vocabulary": {verb: "dancing"}},
    )
    assert r.status_code == 422 and verb in r.text
    r = await analytics.put(
        f"/api/analytics/integrations/{integration['id']}/vocabulary",
        headers=auth("edtech"),
        json={"vocabulary": {verb: "login"}},
    )
    assert r.status_code == 200 and r.json()["vocabulary"] == {verb: "login"}
    ids = (await send.xapi({**login, "verb": {"id": verb + "/"}, "timestamp": "2026-03-05T10:00:00Z"})).json()
    by_id = {e.event_id: e for e in await integration_events(analytics_app[0], integration["id"])}
    assert by_id[ids[0]].kind == "login"
