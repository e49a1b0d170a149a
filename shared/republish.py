"""Replaying events: a range of a service's published outbox rows sent to the bus again.

A broker that lost messages (a restart of an in-memory broker, a topic deleted or expired) leaves
consumers that had not read them behind for good: the outbox marked them published. Published rows
are kept for `<SERVICE>_OUTBOX_RETENTION_DAYS`, and within that time they can be sent again with
their original event ids; every consumer remembers the ids it applied, so it applies only what it
missed. Two doors to the same `OutboxRelay.republish`:

- operators, on the machine or container of a service (the whole outbox, every district):

      python -m shared.republish catalog --from-id 1200 [--to-id 1500] [--since 2025-09-01T08:00Z]
          [--until ...] [--type org.edtech.tool.registered.v1] [--district springfield]

- a district's `admin`, over HTTP: `POST /api/<service>/admin/outbox/republish`, confined to the
  caller's own district (roles come from each district's IdP, so no token grants a replay of
  another district's events).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import sys
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.api import get_runtime, require_roles
from shared.auth.tokens import Principal
from shared.observability import configure_logging
from shared.outbox import ReplayRange

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

MAX_ID = 2**63 - 1
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2199, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
"""Bounds of `since`/`until` (the platform's supported timestamps; beyond, conversions overflow)."""

router = APIRouter(prefix="/admin/outbox", tags=["operations"])


class OutboxRepublish(BaseModel):
    """A range of published events to send again (at least one bound)."""

    model_config = ConfigDict(extra="forbid")

    from_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="First outbox row id (inclusive).")
    to_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Last outbox row id (inclusive).")
    since: AwareDatetime | None = Field(
        default=None, ge=EARLIEST, le=LATEST, description="Published at or after this time."
    )
    until: AwareDatetime | None = Field(
        default=None, ge=EARLIEST, le=LATEST, description="Published before this time."
    )
    event_type: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="Only events of this CloudEvents type.",
        examples=["org.edtech.tool.registered.v1"],
    )

    @field_validator("to_id")
    @classmethod
    def _to_after_from(cls, value: int | None, info: ValidationInfo) -> int | None:
        first = info.data.get("from_id")
        if value is not None and first is not None and value < first:
            raise ValueError("to_id must not be below from_id")
        return value

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("until must be after since")
        return value

    @model_validator(mode="after")
    def _a_range(self) -> OutboxRepublish:
        if self.from_id is None and self.to_id is None and self.since is None and self.until is None:
            raise ValueError("give a range: from_id, to_id, since or until")
        return self


class OutboxRepublished(BaseModel):
    """What a replay sent."""

    events: int = Field(description="Events sent again.")


@router.post("/republish", response_model=OutboxRepublished)
async def republish_events(
    body: OutboxRepublish,
    request: Request,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
) -> OutboxRepublished:
    """Send the district's published events in a range again (admins); consumers apply what they missed."""
    runtime = get_runtime(request)
    selection = ReplayRange(**body.model_dump(), district_id=principal.district_id)
    return OutboxRepublished(events=await runtime.relay.republish(selection))


def _timestamp(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs a time zone (e.g. 2025-09-01T08:00:00Z)")
    if not EARLIEST <= parsed <= LATEST:
        raise argparse.ArgumentTypeError(f"{value!r} is not between {EARLIEST:%Y} and {LATEST:%Y}")
    return parsed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of `python -m shared.republish`."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.republish",
        description="Send a range of a service's published events to the bus again (original ids).",
    )
    from shared.migrations import SERVICES_WITH_DATABASE  # Alembic: not for the services' own import

    parser.add_argument("service", choices=SERVICES_WITH_DATABASE)
    parser.add_argument("--from-id", type=int, help="first outbox row id (inclusive)")
    parser.add_argument("--to-id", type=int, help="last outbox row id (inclusive)")
    parser.add_argument("--since", type=_timestamp, help="published at or after (ISO 8601 with zone)")
    parser.add_argument("--until", type=_timestamp, help="published before (ISO 8601 with zone)")
    parser.add_argument("--type", dest="event_type", help="only events of this CloudEvents type")
    parser.add_argument("--district", dest="district_id", help="only this district's events")
    args = parser.parse_args(argv)
    try:
        args.selection = ReplayRange(
            from_id=args.from_id,
            to_id=args.to_id,
            since=args.since,
            until=args.until,
            event_type=args.event_type,
            district_id=args.district_id,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args


async def republish(service: str, selection: ReplayRange, *, settings: Any = None) -> int:
    """Republish `selection` of `service`'s outbox with the service's own settings (database, bus);
    returns how many events were sent."""
    from shared.auth.tokens import TokenVerifier
    from shared.service import ServiceRuntime

    settings = settings or importlib.import_module(f"services.{service}.config").Settings()
    configure_logging(level=settings.log_level, json=settings.json_logs)  # to stderr
    if settings.bus_backend == "memory":
        raise ValueError(
            f"{service} runs on the in-process bus ({service.upper()}_BUS_BACKEND=memory): only the "
            "running process can republish there (POST /api/<service>/admin/outbox/republish)"
        )
    metadata = importlib.import_module(f"services.{service}.db").Base.metadata
    runtime: ServiceRuntime = ServiceRuntime(
        name=service, settings=settings, metadata=metadata, verifier=TokenVerifier([])
    )
    try:
        return await runtime.relay.republish(selection)
    finally:
        await runtime.bus.stop()
        await runtime.verifier.aclose()
        await runtime.db.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = parse_args(argv)
    try:
        sent = asyncio.run(republish(args.service, args.selection))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.service}: {sent} events republished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
