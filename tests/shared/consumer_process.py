"""A consumer process for the crash test: `python -m tests.shared.consumer_process`.

Consumes probe events from Kafka with EventConsumer + KafkaBus and stores one `effect` row per
event. With KILL_AT_SEQ=n it SIGKILLs itself right after the transaction of the event with
seq n commits, before the bus commits the Kafka offset. Prints `ready` once subscribed and
`delivered <event id>` for every message the bus hands over.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.base import IncomingMessage
from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import CloudEvent
from tests.shared.support import Probe, kafka_bus, probe_model, schema_tables


async def main() -> None:
    """Run the consumer until killed."""
    env = os.environ
    kill_at = int(env["KILL_AT_SEQ"]) if env.get("KILL_AT_SEQ") else None
    _, _, inbox, effect = schema_tables(env["TEST_SCHEMA"])
    db = Database(env["TEST_DATABASE_URL"], env["TEST_SCHEMA"], pool_size=2)
    bus = kafka_bus(env["TEST_BOOTSTRAP"], partitions=1)

    async def on_probe(event: CloudEvent, payload: Probe, session: AsyncSession) -> None:
        await session.execute(
            effect.insert().values(event_id=event.id, item_id=payload.item_id, seq=payload.seq)
        )
        if payload.seq == kill_at:
            session.info["kill_after_commit"] = True

    def kill_after_commit(session: AsyncSession) -> None:
        if session.info.get("kill_after_commit"):
            print(f"killing after commit of seq {kill_at}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    db.on_commit(kill_after_commit)
    consumer = EventConsumer(
        group=env["TEST_GROUP"],
        db=db,
        inbox=inbox,
        bus=bus,
        handlers={probe_model(env["TEST_TOPIC"]): on_probe},
    )

    async def delivered(message: IncomingMessage) -> None:
        print(f"delivered {CloudEvent.from_kafka(message.headers, message.value).id}", flush=True)
        await consumer.handle_message(message)

    bus.subscribe(consumer.group, consumer.topics, delivered)
    await bus.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
