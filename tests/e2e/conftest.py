"""The platform as real processes: four uvicorn services (as `make up` runs them) on a database of
this run's own and the Kafka-protocol broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.cluster import LocalCluster
from shared.testing import create_database, drop_database, free_port
from tests.fixtures.infra import ADMIN_URL


@pytest.fixture(scope="session")
def cluster(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The four services as separate processes, ready."""
    name = f"edtech_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    database_url = create_database(ADMIN_URL, name)
    workdir = Path(tmp_path_factory.mktemp("cluster"))
    cluster = LocalCluster(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        ports={s: free_port() for s in ("gateway", "catalog", "pilots", "analytics")},
        dev_key_file=str(workdir / "dev-key.pem"),
        log_dir=str(workdir / "logs"),
        kafka_idempotence=bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")),
    )
    cluster.migrate()
    cluster.start()
    try:
        cluster.wait_ready(timeout_s=90)
        yield cluster
    finally:
        cluster.stop()
        for log in sorted((workdir / "logs").glob("*.log")):
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                print(f"--- {log.name} (tail) ---\n{text[-4000:]}")
        drop_database(ADMIN_URL, name)


@pytest.fixture
async def gateway(cluster: LocalCluster) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway of the running cluster."""
    async with httpx.AsyncClient(base_url=cluster.url("gateway"), timeout=30) as client:
        yield client
