"""`make run`'s embedded default: the same slice in one process on SQLite and the in-process bus,
started with the very command `make run` uses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.demo import DEMO_DISTRICT, DEMO_TOOLS, dev_headers
from shared.testing import free_port, wait_for_port
from tests.e2e.slice import run_slice


@pytest.fixture(scope="module")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m services.embedded --demo` on a free port with its own data directory."""
    data_dir = Path(tmp_path_factory.mktemp("embedded"))
    port = free_port()
    log = open(data_dir / "embedded.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.embedded",
            "--demo",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout_s=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        text = (data_dir / "embedded.log").read_text(errors="replace")
        if "Traceback" in text:
            print(text[-4000:])


@pytest.fixture
async def embedded(embedded_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the embedded platform."""
    async with httpx.AsyncClient(base_url=embedded_url, timeout=30) as client:
        yield client


async def test_embedded_default_serves_docs_and_demo_district(embedded: httpx.AsyncClient) -> None:
    docs = await embedded.get("/docs")
    openapi = (await embedded.get("/openapi.json")).json()
    headers = await dev_headers(embedded, DEMO_DISTRICT, "admin")
    tools = (await embedded.get("/api/catalog/tools", headers=headers)).json()
    assert docs.status_code == 200
    assert "x-unavailable" not in openapi
    assert {t["name"] for t in DEMO_TOOLS} <= {t["name"] for t in tools["items"]}


async def test_embedded_slice_on_sqlite_and_in_process_bus(embedded: httpx.AsyncClient) -> None:
    result = await run_slice(embedded, district="embedded-slice")
    assert result["pilot"]["tool_id"] == result["tool"]["id"]
