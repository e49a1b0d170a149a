"""Fixtures of the catalog tests: one in-process catalog app (workers off) with its client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.services import AppFactory


@pytest.fixture(scope="session")
async def catalog_app(service_app: AppFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The catalog app and a client to it; tests feed events through `app.state.runtime.consumer`."""
    async with service_app("catalog") as (app, client):
        yield app, client


@pytest.fixture
def api(catalog_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """A client of the catalog app."""
    return catalog_app[1]


@pytest.fixture
def app(catalog_app: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    """The catalog app (for its runtime: consumer, database)."""
    return catalog_app[0]


@pytest.fixture(scope="session")
def sqlite_catalog_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for the catalog, as the embedded default runs it."""
    from shared.migrations import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('embedded') / 'catalog.db'}"
    upgrade("catalog", url)
    return url
