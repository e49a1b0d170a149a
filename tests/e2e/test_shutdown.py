"""`make up` stops on SIGTERM and SIGINT: every process exits by itself with status 0 within a bound
on a shutdown, requests in flight are answered, and the events written just before are relayed
before the broker goes and consumed after a restart, none sent twice.

The platform runs exactly as `make up` runs it (`python -m shared.cluster`), on a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.demo import dev_headers
from shared.cluster import port_is_free
from shared.events.topics import CATALOG_TOOLS
from shared.testing import TansuBroker, create_database, drop_database
from tests.e2e.slice import eventually
from tests.fixtures.infra import ADMIN_URL
from tests.shared.support import read_topic, record_event

REPO = Path(__file__).resolve().parents[2]
STOP_BOUND_S = 10.0
"""A bound on a whole shutdown (several seconds under it when nothing hangs), not a speed target."""
PROCESSES = {"edge", "gateway", "catalog", "pilots", "analytics"}


@dataclass
class Platform:
    """A running `python -m shared.cluster` and what its banner says."""

    process: subprocess.Popen[bytes]
    output: Path
    gateway: str
    pids: dict[str, int]

    def text(self) -> str:
        """Everything it printed so far."""
        return self.output.read_text(errors="replace")

    def stop(self, sig: signal.Signals) -> tuple[float, dict[str, str]]:
        """Send `sig` and wait for the exit; returns the seconds it took and each child's report."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        took = time.monotonic() - started
        reports = dict(re.findall(r"^  (\w+)\s+(exited -?\d+|killed by \w+|not running)$", self.text(), re.M))
        return took, reports


def free_port_base() -> int:
    """A public port whose next four ports (the services', the gateway's) are free too."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(port_is_free(base + i) for i in range(5)):
            return base
    raise RuntimeError("no five consecutive free ports")


def start_platform(workdir: Path, database_url: str, **env: str) -> Platform:
    """`python -m shared.cluster` in `workdir` (its ./var), on `database_url`; waits for its banner."""
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / f"cluster-{uuid.uuid4().hex[:6]}.out"
    port = free_port_base()
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cluster"],
            cwd=workdir,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "DATABASE_URL": database_url,
                "GATEWAY_PORT": str(port),
                **env,
            },
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    platform = Platform(process, output, f"http://127.0.0.1:{port}", {})
    deadline = time.monotonic() + 120
    while "Ctrl-C stops everything" not in platform.text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the platform did not start:\n{platform.text()[-4000:]}")
        time.sleep(0.1)
    platform.pids = {
        name: int(pid) for name, pid in re.findall(r"^  (\w+)\s+\S+.*pid (\d+)", platform.text(), re.M)
    }
    return platform


def gone(pid: int) -> bool:
    """Whether no process has this id any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database of this test's own: (SQLAlchemy URL, asyncpg DSN)."""
    name = f"edtech_stop_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(ADMIN_URL, name)
    try:
        yield url, make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        drop_database(ADMIN_URL, name)


async def catalog_events(dsn: str, district: str) -> list[tuple[str, bool]]:
    """(event id, published) of the district's catalog events, in outbox order."""
    db = await asyncpg.connect(dsn)
    try:
        rows = await db.fetch(
            "SELECT event_id, published_at IS NOT NULL AS published FROM catalog.outbox_event "
            "WHERE headers->>'district_id' = $1 ORDER BY id",
            district,
        )
    finally:
        await db.close()
    return [(r["event_id"], r["published"]) for r in rows]


async def test_sigterm_stops_every_process_with_status_0_after_answering_requests_in_flight(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    url, dsn = database
    platform = start_platform(tmp_path, url)  # its own broker, as `make up` starts it
    assert set(platform.pids) == PROCESSES | {"broker"}
    district = f"stop-{uuid.uuid4().hex[:6]}"
    # A connection per request: a refused connection then means "not taken", never "cut midway".
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30, limits=limits) as gateway:
        headers = await dev_headers(gateway, district, "edtech")

        async def register(n: int) -> int | str:
            try:
                r = await gateway.post("/api/catalog/tools", json={"name": f"Tool {n}"}, headers=headers)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:  # after the gateway closed
                return type(exc).__name__
            return r.status_code

        first = await asyncio.gather(*(register(n) for n in range(5)))
        in_flight = [asyncio.create_task(register(n)) for n in range(5, 40)]
        await asyncio.sleep(0.05)
        took, reports = await asyncio.to_thread(platform.stop, signal.SIGTERM)
        answers = first + list(await asyncio.gather(*in_flight))
    assert platform.process.returncode == 0, platform.text()
    assert reports == {name: "exited 0" for name in platform.pids}, platform.text()
    assert took < STOP_BOUND_S, platform.text()
    assert all(gone(pid) for pid in platform.pids.values())
    assert first == [201] * 5
    assert set(answers) <= {201, "ConnectError", "RemoteProtocolError"}, answers  # no 5xx, none cut
    events = await catalog_events(dsn, district)
    assert len(events) == answers.count(201)  # each answered request committed, the others nothing
    assert all(published for _, published in events)  # relayed before the broker stopped


async def test_sigint_loses_no_event_written_just_before_and_a_restart_sends_none_twice(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    url, dsn = database
    broker = TansuBroker().start()  # outlives both runs, as Kafka would
    tansu = {
        f"{service}_{key}": value
        for service in ("CATALOG", "PILOTS", "ANALYTICS")
        for key, value in (
            ("KAFKA_ENABLE_IDEMPOTENCE", "false"),
            ("KAFKA_SESSION_TIMEOUT_MS", "2000"),
            ("KAFKA_HEARTBEAT_INTERVAL_MS", "300"),
        )
    }
    env = {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, **tansu}
    district = f"stop-{uuid.uuid4().hex[:6]}"
    names = [f"Tool written just before the stop {n}" for n in range(10)]
    try:
        platform = start_platform(tmp_path / "first", url, **env)
        async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as gateway:
            headers = await dev_headers(gateway, district, "edtech")
            for name in names:
                r = await gateway.post("/api/catalog/tools", json={"name": name}, headers=headers)
                assert r.status_code == 201, r.text
        took, reports = await asyncio.to_thread(platform.stop, signal.SIGINT)
        assert platform.process.returncode == 0, platform.text()
        assert reports == {name: "exited 0" for name in PROCESSES}, platform.text()
        assert took < STOP_BOUND_S, platform.text()
        events = await catalog_events(dsn, district)
        assert len(events) == len(names) and all(published for _, published in events)

        again = start_platform(tmp_path / "second", url, **env)
        try:
            async with httpx.AsyncClient(base_url=again.gateway, timeout=30) as gateway:
                headers = await dev_headers(gateway, district, "edtech")

                async def pilots_know_them() -> bool:
                    r = await gateway.get("/api/pilots/tools", params={"limit": 100}, headers=headers)
                    return r.status_code == 200 and {t["name"] for t in r.json()["items"]} == set(names)

                await eventually(pilots_know_them, timeout_s=60, what="pilots holding every tool")
        finally:
            _, reports = await asyncio.to_thread(again.stop, signal.SIGTERM)
        assert again.process.returncode == 0 and set(reports.values()) == {"exited 0"}, again.text()
        records = await read_topic(broker.bootstrap_servers, CATALOG_TOOLS, count=len(names))
    finally:
        broker.stop()
    sent = [record_event(r).id for r in records]
    assert sorted(sent) == sorted(event_id for event_id, _ in events)  # every event on the broker, once
