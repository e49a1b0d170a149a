"""`edtech` commands that act for a district through the API: integrations, roster imports and a
district admin's replay, against the real services behind the gateway on a port."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import httpx
from typer.testing import CliRunner

from shared.events import CloudEvent
from shared.events.topics import CATALOG_TOOLS
from tests.analytics.roster_data import FILES
from tests.cli.conftest import ServedPlatform, invoke
from tests.fixtures.auth import TokenFactory


def token(auth: TokenFactory, *roles: str) -> str:
    return auth(*roles)["Authorization"].removeprefix("Bearer ")


def test_integrations_are_created_listed_and_their_secret_rotated(
    cli: CliRunner, served_platform: ServedPlatform, auth: TokenFactory
) -> None:
    api = ("--url", served_platform.url, "--token", token(auth, "edtech"))
    created = invoke(cli, *api, "integrations", "create", "Canvas - Lincoln High", "--json")
    assert created.exit_code == 0, created.output
    doc = json.loads(created.stdout)
    assert doc["name"] == "Canvas - Lincoln High" and doc["secret"].startswith("whsec_")
    assert doc["endpoints"]["xapi"]["url"].endswith(f"/api/analytics/webhooks/{doc['id']}/xapi/")

    shown = invoke(cli, *api, "integrations", "create", "Moodle")
    assert shown.exit_code == 0 and "shown this once" in shown.stdout and "whsec_" in shown.stdout

    listed = invoke(cli, *api, "integrations", "list", "--json")
    assert listed.exit_code == 0
    page = json.loads(listed.stdout)
    assert page["total"] == 2 and {i["name"] for i in page["items"]} == {"Canvas - Lincoln High", "Moodle"}
    assert all("secret" not in i for i in page["items"])
    table = invoke(cli, *api, "integrations", "list")
    assert doc["id"] in table.stdout and "2 integrations" in table.stdout

    rotated = invoke(cli, *api, "integrations", "rotate-secret", doc["id"], "--json")
    assert rotated.exit_code == 0, rotated.output
    again = json.loads(rotated.stdout)
    assert again["id"] == doc["id"] and again["secret"] != doc["secret"]
    assert again["previous_secret_expires_at"] is not None

    unknown = invoke(cli, *api, "integrations", "rotate-secret", str(uuid.uuid4()))
    assert unknown.exit_code == 1 and "404" in unknown.stderr
    teacher = invoke(
        cli, "--url", served_platform.url, "--token", token(auth, "teacher"), "integrations", "list"
    )
    assert teacher.exit_code == 1 and "403" in teacher.stderr


def test_a_command_without_a_token_says_how_to_give_one(
    cli: CliRunner, served_platform: ServedPlatform
) -> None:
    done = invoke(cli, "--url", served_platform.url, "integrations", "list", env={"EDTECH_TOKEN": ""})
    assert done.exit_code == 1 and "EDTECH_TOKEN" in done.stderr


def test_the_url_and_token_come_from_the_environment_too(
    cli: CliRunner, served_platform: ServedPlatform, auth: TokenFactory
) -> None:
    env = {"EDTECH_URL": served_platform.url, "EDTECH_TOKEN": token(auth, "admin")}
    done = invoke(cli, "integrations", "list", "--json", env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["total"] == 0  # this test's district has none


def write_roster(directory: Path) -> list[Path]:
    paths = []
    for name, text in FILES.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def test_a_roster_import_is_followed_to_its_end_with_a_progress_bar(
    cli: CliRunner, served_platform: ServedPlatform, auth: TokenFactory, tmp_path: Path
) -> None:
    api = ("--url", served_platform.url, "--token", token(auth, "edtech"))
    paths = write_roster(tmp_path)
    done = invoke(cli, *api, "roster", "import", *map(str, paths), "--poll", "0.05")
    assert done.exit_code == 0, done.output
    assert "succeeded" in done.stdout
    assert "6/6" in done.stdout  # users.csv's bar: six rows read of the six counted here
    users = next(line for line in done.stdout.splitlines() if "users.csv" in line and "delta" in line)
    cells = [cell.strip() for cell in users.split("│")[1:-1]]
    assert cells == ["users.csv", "delta", "6", "6", "0", "6", "0"]  # rows accepted rejected upserted deleted

    queued = invoke(cli, *api, "roster", "import", *map(str, paths), "--no-wait", "--json")
    assert queued.exit_code == 0, queued.output
    assert json.loads(queued.stdout)["state"] in ("queued", "running", "succeeded")  # not followed

    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in paths:
            zipped.write(path, f"oneroster/{path.name}")
    again = invoke(cli, *api, "roster", "import", str(archive), "--json", "--poll", "0.05")
    assert again.exit_code == 0, again.output
    status = json.loads(again.stdout)
    assert status["state"] == "succeeded"
    assert status["files"]["users.csv"] == {"rows": 6, "accepted": 6, "rejected": 0}
    assert status["result"]["upserted"]["users"] == 6


def test_a_roster_the_service_refuses_exits_with_its_reason(
    cli: CliRunner, served_platform: ServedPlatform, auth: TokenFactory, tmp_path: Path
) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("not a roster")
    done = invoke(
        cli, "--url", served_platform.url, "--token", token(auth, "edtech"), "roster", "import", str(stray)
    )
    assert done.exit_code == 1 and "422" in done.stderr


def test_a_district_admin_republishes_the_districts_events_through_the_api(
    cli: CliRunner, served_platform: ServedPlatform, auth: TokenFactory
) -> None:
    with httpx.Client(base_url=served_platform.url, headers=auth("edtech")) as client:
        ids = [client.post("/api/catalog/tools", json={"name": f"Tool {n}"}).json()["id"] for n in range(2)]
    relay = served_platform.apps["catalog"].state.runtime.relay
    while served_platform.run(relay.publish_pending()):
        pass
    before = len(served_platform.bus.messages(CATALOG_TOOLS))

    api = ("--url", served_platform.url, "--token", token(auth, "admin"))
    done = invoke(
        cli,
        *api,
        "outbox",
        "republish",
        "catalog",
        "--from-id",
        "1",
        "--type",
        "org.edtech.tool.registered.v1",
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "catalog: 2 events republished"
    sent = served_platform.bus.messages(CATALOG_TOOLS)[before:]
    assert [CloudEvent.from_kafka(m.headers, m.value).data["tool_id"] for m in sent] == ids
    assert all(m.headers["replayed_at"] for m in sent)

    refused = invoke(cli, *api, "outbox", "republish", "catalog")
    assert refused.exit_code == 1 and "give a range" in refused.stderr
    edtech = invoke(
        cli,
        "--url",
        served_platform.url,
        "--token",
        token(auth, "edtech"),
        "outbox",
        "republish",
        "catalog",
        "--from-id",
        "1",
    )
    assert edtech.exit_code == 1 and "403" in edtech.stderr
