"""One version number: pyproject.toml owns it, and every app and OpenAPI document shows that one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from services.gateway.app import create_app as create_gateway
from services.gateway.config import Settings as GatewaySettings
from shared import VERSION
from tests.fixtures.services import AppFactory

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_the_one_pyproject_gives() -> None:
    assert VERSION == PYPROJECT


async def test_every_app_and_openapi_document_shows_it(service_app: AppFactory) -> None:
    for service in ("catalog", "pilots", "analytics"):
        async with service_app(service) as (app, client):
            document = (await client.get(f"/api/{service}/openapi.json")).json()
        assert app.version == document["info"]["version"] == PYPROJECT, service
    assert create_gateway(GatewaySettings()).version == PYPROJECT


def test_no_other_file_of_the_code_writes_a_version() -> None:
    literal = re.compile(r"""version\s*=\s*["']\d+\.\d+\.\d+["']""")
    writers = [
        str(path.relative_to(REPO))
        for folder in ("shared", "services")
        for path in (REPO / folder).rglob("*.py")
        if literal.search(path.read_text())
    ]
    assert writers == []
