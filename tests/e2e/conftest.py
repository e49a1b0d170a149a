"""The platform as real processes, as `make up` runs them: nginx as the edge, the gateway app and
the three services under uvicorn, on a database of this run's own and the Kafka-protocol broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.cluster import UNTHROTTLED, LocalCluster, fresh_cluster
from tests.fixtures.infra import ADMIN_URL


@pytest.fixture(scope="session")
def cluster(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The four services as separate processes, ready."""
    workdir = Path(tmp_path_factory.mktemp("cluster"))
    name = f"edtech_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with fresh_cluster(
        admin_url=ADMIN_URL,
        database_name=name,
        kafka_bootstrap=kafka_bootstrap,
        workdir=workdir,
        extra_env=UNTHROTTLED,
    ) as (cluster, _):
        try:
            yield cluster
        finally:
            for log in sorted((workdir / "logs").glob("*.log")):
                text = log.read_text(errors="replace")
                if "Traceback" in text:
                    print(f"--- {log.name} (tail) ---\n{text[-4000:]}")


@pytest.fixture
async def gateway(cluster: LocalCluster) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway of the running cluster."""
    async with httpx.AsyncClient(base_url=cluster.public_url, timeout=30) as client:
        yield client
