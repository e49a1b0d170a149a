"""Message bus backends behind one interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.bus.base import Bus, IncomingMessage, MessageHandler, OutgoingMessage
from shared.bus.memory import MemoryBus
from shared.bus.security import KafkaSecurity

if TYPE_CHECKING:
    from shared.config import ServiceSettings

__all__ = [
    "Bus",
    "IncomingMessage",
    "KafkaSecurity",
    "MemoryBus",
    "MessageHandler",
    "OutgoingMessage",
    "build_bus",
    "bus_for",
]


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
    security: KafkaSecurity | None = None,
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
        security=security,
    )


def bus_for(settings: ServiceSettings, *, client_id: str) -> Bus:
    """The bus a service's settings describe (its Kafka clients with the service's TLS and SASL)."""
    return build_bus(
        settings.bus_backend,
        client_id=client_id,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks=settings.kafka_acks,
        enable_idempotence=settings.kafka_enable_idempotence,
        partitions=settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
        security=settings.kafka_security(),
        consumer_options={
            k: v
            for k, v in (
                ("session_timeout_ms", settings.kafka_session_timeout_ms),
                ("heartbeat_interval_ms", settings.kafka_heartbeat_interval_ms),
            )
            if v is not None
        },
    )
