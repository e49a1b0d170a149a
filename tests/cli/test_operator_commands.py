"""`edtech` commands operators run with a service's settings: dead letters on the broker, an
operator's replay of the outbox, the analytics retention; and every command's help."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shared import VERSION
from shared.bus import IncomingMessage
from shared.bus.kafka import KafkaBus
from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import CloudEvent, ToolRegistered
from shared.migrations import upgrade
from shared.outbox import Outbox, OutboxRelay
from shared.testing import create_database, drop_database
from tests.analytics.test_retention import append, kept
from tests.cli.conftest import invoke
from tests.fixtures.infra import ADMIN_URL
from tests.shared.support import read_topic, record_event

REPO = Path(__file__).resolve().parents[2]


def kafka_env(service: str, broker: str, **extra: str) -> dict[str, str]:
    prefix = service.upper()
    return {
        f"{prefix}_BUS_BACKEND": "kafka",
        f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": broker,
        f"{prefix}_KAFKA_ENABLE_IDEMPOTENCE": "false",
        **{f"{prefix}_{k.upper()}": v for k, v in extra.items()},
    }


async def dead_letter(broker: str, topic: str, *messages: IncomingMessage) -> None:
    """Dead-letter the messages as analytics' consumer does when it gives up."""
    bus = KafkaBus(broker, client_id="cli-tests", enable_idempotence=False, partitions=2)
    consumer = EventConsumer(group="analytics", db=None, inbox=None, bus=bus, handlers={})  # type: ignore[arg-type]
    try:
        for message in messages:
            event = None
            try:
                event = CloudEvent.from_kafka(message.headers, message.value)
            except ValueError as exc:
                await consumer.dead_letter(message, exc)
                continue
            await consumer.dead_letter(message, RuntimeError(f"cannot apply {event.id}"), event=event)
    finally:
        await bus.stop()


def test_dead_letters_are_listed_shown_and_replayed_to_where_they_came_from(
    cli: CliRunner, broker: str
) -> None:
    topic = f"cli-test.origin.{uuid.uuid4().hex[:8]}"
    payload = ToolRegistered(tool_id=uuid.uuid4(), tool_name="Desmos", status="proposed")
    event = CloudEvent.wrap(payload, source="/edtech/catalog", district_id="district-cli")
    headers, value = event.to_kafka()
    good = IncomingMessage(topic, 1, 41, payload.key(), value, {**headers, "correlation_id": "req-9"})
    poison = IncomingMessage(topic, 0, 7, "k", b"{not json", {"correlation_id": "req-8"})
    asyncio.run(dead_letter(broker, topic, good, poison))
    env = kafka_env("analytics", broker)

    listed = invoke(cli, "dead-letters", "list", "analytics", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(letters) == 2
    by_event = {d["event_id"]: d for d in letters}
    mine = by_event[event.id]
    assert mine["event_type"] == "org.edtech.tool.registered.v1" and mine["original_topic"] == topic
    assert mine["error"] == f"RuntimeError: cannot apply {event.id}" and mine["key"] == payload.key()
    assert by_event[None]["error"].startswith("JSONDecodeError")  # the poison one does not parse
    table = invoke(cli, "dead-letters", "list", "analytics", env=env)
    assert "2 dead letters of analytics" in table.stdout and mine["ref"] in table.stdout

    shown = invoke(cli, "dead-letters", "show", "analytics", mine["ref"], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"{topic}" in shown.stdout and "dlq_original_offset" in shown.stdout and "req-9" in shown.stdout
    assert '"tool_name": "Desmos"' in shown.stdout

    replayed = invoke(cli, "dead-letters", "replay", "analytics", mine["ref"], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.strip() == "analytics: 1 dead letters replayed"
    [record] = asyncio.run(read_topic(broker, topic, count=1))
    assert record.key == payload.key().encode() and record.value == value
    assert record_event(record) == event  # binary mode, as it was first sent
    sent = {k: v.decode() for k, v in record.headers}
    assert sent["correlation_id"] == "req-9" and sent["dlq_replayed_from"] == mine["ref"]
    assert not any(k.startswith("dlq_") and k != "dlq_replayed_from" for k in sent)

    unknown = invoke(cli, "dead-letters", "replay", "analytics", "9:999", env=env)
    assert unknown.exit_code == 1 and "no dead letter 9:999" in unknown.stderr
    neither = invoke(cli, "dead-letters", "replay", "analytics", env=env)
    assert neither.exit_code == 2 and "--all" in neither.output
    embedded = invoke(cli, "dead-letters", "list", "analytics", env={"ANALYTICS_BUS_BACKEND": "memory"})
    assert embedded.exit_code == 1 and "in-process bus" in embedded.stderr


def test_a_service_without_dead_letters_lists_none(cli: CliRunner, broker: str) -> None:
    done = invoke(cli, "dead-letters", "list", "pilots", "--json", env=kafka_env("pilots", broker))
    assert done.exit_code == 0 and done.stdout == ""


def test_an_operator_republishes_a_range_with_the_services_settings(
    cli: CliRunner, broker: str, database_url: str
) -> None:
    from services.catalog.db import outbox as catalog_outbox

    district = f"cli-{uuid.uuid4().hex[:8]}"
    outbox = Outbox(catalog_outbox, source="/edtech/catalog")

    async def write_and_publish() -> list[str]:
        db = Database(database_url, "catalog", pool_size=2)
        bus = KafkaBus(broker, client_id="cli-tests", enable_idempotence=False)
        try:
            async with db.transaction() as session:
                ids = [
                    (
                        await outbox.add(
                            session,
                            ToolRegistered(tool_id=uuid.uuid4(), tool_name=f"T{n}", status="proposed"),
                            district_id=district,
                        )
                    ).id
                    for n in range(3)
                ]
            relay = OutboxRelay(db, catalog_outbox, bus, service="catalog")
            while await relay.publish_pending():
                pass
            return ids
        finally:
            await bus.stop()
            await db.dispose()

    ids = asyncio.run(write_and_publish())
    env = kafka_env("catalog", broker, database_url=database_url)
    done = invoke(
        cli, "outbox", "republish", "catalog", "--direct", "--from-id", "1", "--district", district, env=env
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "catalog: 3 events republished"
    records = asyncio.run(read_topic(broker, "edtech.catalog.tools.v1", count=6))
    replays = [record_event(r).id for r in records if dict(r.headers).get("replayed_at")]
    assert sorted(replays) == sorted(ids)

    naive = invoke(
        cli, "outbox", "republish", "catalog", "--direct", "--since", "2025-09-01T08:00:00", env=env
    )
    assert naive.exit_code == 2 and "needs a time zone" in naive.output
    district_via_api = invoke(cli, "outbox", "republish", "catalog", "--from-id", "1", "--district", district)
    assert district_via_api.exit_code == 2 and "token's district" in district_via_api.output


@pytest.fixture
def retention_database() -> Any:
    """A database of its own: a purge acts on every district of the database it is pointed at."""
    name = f"edtech_cli_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(ADMIN_URL, name)
    upgrade("analytics", url)
    yield url
    drop_database(ADMIN_URL, name)


def test_retention_purge_deletes_usage_past_each_districts_school_years(
    cli: CliRunner, retention_database: str
) -> None:
    district = "district-retention"

    async def seed() -> None:
        db = Database(retention_database, "analytics", pool_size=2)
        try:
            await append(db, district, ["2024-03-04", "2025-03-03", "2026-03-02"])
        finally:
            await db.dispose()

    async def left() -> tuple[list[str], list[str]]:
        db = Database(retention_database, "analytics", pool_size=2)
        try:
            return await kept(db, district)
        finally:
            await db.dispose()

    asyncio.run(seed())
    env = {"ANALYTICS_DATABASE_URL": retention_database}
    done = invoke(cli, "retention", "purge", "--today", "2026-05-01", "--json", env=env)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    # two school years kept by default: from the one that began in July 2024
    assert report["as_of"] == "2026-05-01" and report["deleted"] == {district: 1}
    events, daily = asyncio.run(left())
    assert events == daily == ["2025-03-03", "2026-03-02"]
    again = invoke(cli, "retention", "purge", "--today", "2026-05-01", env=env)
    assert again.exit_code == 0 and "0 usage events deleted" in again.stdout


COMMANDS = [
    [],
    ["integrations"],
    ["integrations", "list"],
    ["integrations", "create"],
    ["integrations", "rotate-secret"],
    ["roster"],
    ["roster", "import"],
    ["dead-letters"],
    ["dead-letters", "list"],
    ["dead-letters", "show"],
    ["dead-letters", "replay"],
    ["outbox"],
    ["outbox", "republish"],
    ["retention"],
    ["retention", "purge"],
    ["providers"],
    ["providers", "add"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "edtech" for c in COMMANDS])
def test_every_command_has_help(cli: CliRunner, command: list[str]) -> None:
    done = invoke(cli, *command, "--help")
    assert done.exit_code == 0
    assert done.stdout.startswith("Usage: edtech") and len(done.stdout.splitlines()) > 4


def test_the_console_script_is_installed() -> None:
    script = REPO / ".venv" / "bin" / "edtech"
    command = [str(script)] if script.exists() else ["edtech"]
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert version.stdout.strip() == f"edtech {VERSION}"
    usage = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert "integrations" in usage.stdout + usage.stderr and "dead-letters" in usage.stdout + usage.stderr
