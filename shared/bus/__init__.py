"""Message bus backends behind one interface."""

from collections.abc import Mapping
from typing import Any

from shared.bus.base import Bus, IncomingMessage, MessageHandler, OutgoingMessage
from shared.bus.memory import MemoryBus

__all__ = ["Bus", "IncomingMessage", "MemoryBus", "MessageHandler", "OutgoingMessage", "build_bus"]


def build_bus(
    backend: str,
    *,
    client_id: str,
    bootstrap_servers: str = "",
    acks: str = "all",
    enable_idempotence: bool = True,
    partitions: int = 6,
    replication_factor: int = 1,
    consumer_options: Mapping[str, Any] | None = None,
    producer_options: Mapping[str, Any] | None = None,
) -> Bus:
    """The bus named by the settings."""
    if backend == "memory":
        return MemoryBus()
    from shared.bus.kafka import KafkaBus

    return KafkaBus(
        bootstrap_servers,
        client_id=client_id,
        acks=acks,
        enable_idempotence=enable_idempotence,
        partitions=partitions,
        replication_factor=replication_factor,
        consumer_options=consumer_options,
        producer_options=producer_options,
    )
