"""The in-process bus of the embedded default: per-topic order, at-least-once, one copy per group."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from shared.bus import IncomingMessage, MemoryBus, MessageHandler, OutgoingMessage
from tests.shared.support import wait_until


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    memory = MemoryBus(redelivery_delay_s=0.01)
    yield memory
    await memory.stop()


def outgoing(topic: str, n: int, key: str = "k") -> list[OutgoingMessage]:
    return [
        OutgoingMessage(topic=topic, key=key, value=str(i).encode(), headers={"n": str(i)}) for i in range(n)
    ]


async def test_each_topic_is_delivered_in_order(bus: MemoryBus) -> None:
    seen: dict[str, list[int]] = defaultdict(list)

    async def handler(message: IncomingMessage) -> None:
        seen[message.topic].append(int(message.value))
        assert message.offset == int(message.value) and message.headers["n"] == message.value.decode()

    bus.subscribe("g", ["a", "b"], handler)
    await bus.start()
    for i in range(0, 30, 3):  # interleaved publishes, some batched
        await bus.publish([OutgoingMessage("a", "k1", str(i).encode(), {"n": str(i)})])
        await bus.publish(
            [
                OutgoingMessage("b", f"k{i}", str(i // 3).encode(), {"n": str(i // 3)}),
                *[OutgoingMessage("a", "k2", str(j).encode(), {"n": str(j)}) for j in (i + 1, i + 2)],
            ]
        )
    await wait_until(lambda: len(seen["a"]) == 30 and len(seen["b"]) == 10, timeout_s=5, what="delivery")
    assert seen["a"] == list(range(30))
    assert seen["b"] == list(range(10))


async def test_a_failed_handler_gets_the_message_again_before_the_next(bus: MemoryBus) -> None:
    attempts: list[int] = []
    failures = {3: 2}  # message 3 fails twice, then succeeds

    async def handler(message: IncomingMessage) -> None:
        n = int(message.value)
        attempts.append(n)
        if failures.get(n, 0) > 0:
            failures[n] -= 1
            raise RuntimeError("database briefly unavailable")

    bus.subscribe("g", ["t"], handler)
    await bus.start()
    await bus.publish(outgoing("t", 6))
    await wait_until(lambda: attempts[-1:] == [5], timeout_s=5, what="the last message")
    assert attempts == [0, 1, 2, 3, 3, 3, 4, 5]


async def test_every_group_sees_every_message(bus: MemoryBus) -> None:
    seen: dict[str, list[int]] = defaultdict(list)

    def handler_for(group: str) -> MessageHandler:
        async def handler(message: IncomingMessage) -> None:
            seen[group].append(int(message.value))

        return handler

    bus.subscribe("catalog", ["t"], handler_for("catalog"))
    bus.subscribe("analytics", ["t"], handler_for("analytics"))
    await bus.start()
    await bus.publish(outgoing("t", 5))
    late = handler_for("late")
    bus.subscribe("late", ["t"], late)  # subscribing after the fact still reads from the start
    await bus.publish([OutgoingMessage("t", "k", b"5")])
    await wait_until(
        lambda: all(len(seen[g]) == 6 for g in ("catalog", "analytics", "late")),
        timeout_s=5,
        what="all groups",
    )
    assert seen["catalog"] == seen["analytics"] == seen["late"] == [0, 1, 2, 3, 4, 5]
    assert [m.value for m in bus.messages("t")] == [str(i).encode() for i in range(6)]


async def test_a_restarted_bus_resumes_after_what_was_handled(bus: MemoryBus) -> None:
    seen: list[int] = []

    async def handler(message: IncomingMessage) -> None:
        seen.append(int(message.value))

    bus.subscribe("g", ["t"], handler)
    await bus.start()
    await bus.publish(outgoing("t", 3))
    await wait_until(lambda: len(seen) == 3, timeout_s=5, what="first three")
    await bus.stop()
    await bus.publish([OutgoingMessage("t", "k", b"3")])
    await bus.start()
    await wait_until(lambda: len(seen) == 4, timeout_s=5, what="the fourth")
    assert seen == [0, 1, 2, 3]


async def test_two_subscribers_of_one_group_share_the_work_without_duplicates(bus: MemoryBus) -> None:
    handled: list[tuple[str, int]] = []

    def replica(name: str) -> MessageHandler:
        async def handler(message: IncomingMessage) -> None:
            handled.append((name, int(message.value)))
            await asyncio.sleep(0)  # give the other replica every chance to interleave

        return handler

    bus.subscribe("catalog", ["t"], replica("first"))
    await bus.start()
    bus.subscribe("catalog", ["t"], replica("second"))
    await bus.publish(outgoing("t", 20))
    await wait_until(lambda: len(handled) >= 20, timeout_s=5, what="twenty messages")
    await asyncio.sleep(0.05)  # let a would-be duplicate delivery surface before checking
    assert [n for _, n in handled] == list(range(20))  # each once, in order
