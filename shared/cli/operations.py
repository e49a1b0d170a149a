"""What operators run on a service's machine, with the service's own settings (its environment
variables): the Kafka dead letters, the outbox (also through the API for a district's admin), and
the analytics retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import importlib
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.api import answer, connection, fail

deadletters = typer.Typer(
    help="The messages a service's consumers gave up on (its Kafka dead-letter topic): list, show, "
    "replay. Runs with the service's settings (<SERVICE>_KAFKA_*).",
    no_args_is_help=True,
)
outbox = typer.Typer(help="Send a range of a service's published events again.", no_args_is_help=True)
retention = typer.Typer(help="Delete analytics usage past each district's retention.", no_args_is_help=True)


class Service(enum.StrEnum):
    """A service with a database, an outbox and consumers."""

    catalog = "catalog"
    pilots = "pilots"
    analytics = "analytics"


ServiceArg = Annotated[
    Service, typer.Argument(help="The service (its settings are read from the environment).")
]


def service_settings(service: Service) -> Any:
    """The service's settings, from its environment variables (refused settings are reported)."""
    try:
        return importlib.import_module(f"services.{service.value}.config").Settings()
    except ValueError as exc:  # pydantic's ValidationError names each setting and why
        fail(f"{service.value} settings: {exc}")


def _timestamp(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a time zone (e.g. 2025-09-01T08:00:00Z)", param_hint=name)
    return parsed


# --- dead letters ---


def _letters(service: Service) -> list[Any]:
    from shared.deadletters import read_dead_letters

    try:
        return asyncio.run(read_dead_letters(service_settings(service), service.value))
    except ValueError as exc:
        fail(str(exc))


@deadletters.command("list")
def list_dead_letters(
    service: ServiceArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per dead letter.")] = False,
) -> None:
    """List the dead letters: where each came from, its event and why it failed."""
    letters = _letters(service)
    if as_json:
        for letter in letters:
            event = letter.event()
            doc = {
                "ref": letter.ref,
                "key": letter.key,
                "original_topic": letter.original_topic,
                "event_id": event.id if event else None,
                "event_type": event.type if event else None,
                "failed_at": letter.failed_at,
                "error": letter.error,
            }
            typer.echo(json.dumps(doc))
        return
    table = Table(
        "ref", "from", "event", "failed at", "error", title=f"{len(letters)} dead letters of {service.value}"
    )
    for letter in letters:
        event = letter.event()
        origin = (
            f"{letter.original_topic}:{letter.headers.get('dlq_original_partition', '?')}:"
            + letter.headers.get("dlq_original_offset", "?")
        )
        table.add_row(
            letter.ref,
            origin,
            f"{event.type} {event.id}" if event else "(does not parse)",
            letter.failed_at[:19],
            letter.error[:120],
        )
    Console().print(table)


@deadletters.command()
def show(
    service: ServiceArg,
    ref: Annotated[str, typer.Argument(help="The dead letter, <partition>:<offset> as `list` shows it.")],
) -> None:
    """Show one dead letter: its key, every header and its value."""
    from shared.deadletters import select

    try:
        [letter] = select(_letters(service), [ref])
    except LookupError as exc:
        fail(str(exc))
    console = Console()
    console.print(f"dead letter {letter.ref} of {service.value}, key {letter.key!r}")
    headers = Table("header", "value")
    for name, value in sorted(letter.headers.items()):
        headers.add_row(name, value)
    console.print(headers)
    try:
        typer.echo(json.dumps(json.loads(letter.value), indent=2))
    except ValueError:
        typer.echo(letter.value.decode(errors="replace"))


@deadletters.command("replay")
def replay_dead_letters(
    service: ServiceArg,
    refs: Annotated[
        list[str] | None, typer.Argument(help="Dead letters to replay, <partition>:<offset> as listed.")
    ] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter of the service.")
    ] = False,
) -> None:
    """Send dead letters back to the topics they came from (after a fix); consumers that applied an
    event already skip it by its id."""
    from shared.deadletters import replay, select

    if bool(refs) == replay_all:
        raise typer.BadParameter("name the dead letters to replay, or pass --all (not both)")
    letters = _letters(service)
    try:
        chosen = letters if replay_all else select(letters, refs or [])
        sent = asyncio.run(replay(service_settings(service), service.value, chosen))
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{service.value}: {sent} dead letters replayed")


# --- outbox ---


@outbox.command()
def republish(
    ctx: typer.Context,
    service: ServiceArg,
    from_id: Annotated[int | None, typer.Option(min=1, help="First outbox row id (inclusive).")] = None,
    to_id: Annotated[int | None, typer.Option(min=1, help="Last outbox row id (inclusive).")] = None,
    since: Annotated[str | None, typer.Option(help="Published at or after (ISO 8601 with zone).")] = None,
    until: Annotated[str | None, typer.Option(help="Published before (ISO 8601 with zone).")] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only events of this CloudEvents type.")
    ] = None,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="Operators: use the service's database and Kafka (its settings) for the whole outbox, "
            "instead of the API (a district admin's token, the district's own events).",
        ),
    ] = False,
    district: Annotated[str | None, typer.Option(help="With --direct: only this district's events.")] = None,
) -> None:
    """Send a range of published events again with their original ids; consumers apply only what
    they missed (see the README, Replaying events)."""
    start, end = _timestamp(since, "--since"), _timestamp(until, "--until")
    if not direct:
        if district is not None:
            raise typer.BadParameter("through the API a replay is the token's district: leave --district out")
        body = {
            k: v
            for k, v in {
                "from_id": from_id,
                "to_id": to_id,
                "since": since,
                "until": until,
                "event_type": event_type,
            }.items()
            if v is not None
        }
        with connection(ctx).client() as client:
            sent = answer(client.post(f"/api/{service.value}/admin/outbox/republish", json=body))["events"]
    else:
        from shared.outbox import ReplayRange
        from shared.republish import republish as republish_range

        try:
            selection = ReplayRange(
                from_id=from_id,
                to_id=to_id,
                since=start,
                until=end,
                event_type=event_type,
                district_id=district,
            )
            sent = asyncio.run(republish_range(service.value, selection, settings=service_settings(service)))
        except ValueError as exc:
            fail(str(exc))
    typer.echo(f"{service.value}: {sent} events republished")


# --- retention ---


@retention.command()
def purge(
    today: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Compute the cutoffs as on this day (default: today, UTC)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Delete every district's usage past its retention now, as the analytics job does each
    interval (raw events and aggregates; monthly partitions kept ahead and dropped when empty).
    Runs with the analytics settings (ANALYTICS_DATABASE_URL)."""
    from services.analytics.db import Base
    from services.analytics.retention.service import apply_retention
    from shared.db import Database

    settings = service_settings(Service.analytics)
    day = today.date() if today else dt.datetime.now(dt.UTC).date()

    async def run() -> Any:
        db = Database(settings.database_url, str(Base.metadata.schema), pool_size=2)
        try:
            return await apply_retention(db, settings, today=day)
        finally:
            await db.dispose()

    done = asyncio.run(run())
    doc = {
        "as_of": day.isoformat(),
        "deleted": done.deleted,
        "partitions_created": [m.isoformat() for m in done.partitions_created],
        "partitions_dropped": [m.isoformat() for m in done.partitions_dropped],
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    total = sum(done.deleted.values())
    typer.echo(f"retention as of {day}: {total} usage events deleted in {len(done.deleted)} districts")
    for district_id, count in sorted(done.deleted.items()):
        typer.echo(f"  {district_id}: {count}")
    if done.partitions_created or done.partitions_dropped:
        typer.echo(f"partitions created: {doc['partitions_created']}, dropped: {doc['partitions_dropped']}")
