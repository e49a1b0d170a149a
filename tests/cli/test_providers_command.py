"""`edtech providers add`: an operator registers a district's first identity provider with the
gateway's settings, audited; the district's edtech then sees it through the API."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from typer.testing import CliRunner

from services.gateway.app import create_app
from services.gateway.config import Settings
from tests.cli.conftest import invoke
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import running_app

SECRET = "an-operator-test-secret-long-enough-0123456789"


def test_an_operator_registers_a_districts_first_provider(
    cli: CliRunner, database_url: str, auth_settings: dict[str, Any], auth: TokenFactory, district: str
) -> None:
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SECRET_KEY": SECRET}
    args = ["providers", "add", "--district", district, "--name", "Clever", "--client-id", "cid"]
    done = invoke(cli, *args, "--preset", "clever", "--tenant", "cv-1", "--default-role", "teacher", env=env)
    assert done.exit_code == 0, done.stderr
    created = json.loads(done.stdout)
    assert (created["issuer"], created["tenant_claim"], created["default_roles"]) == (
        "https://clever.com",
        "district",
        ["teacher"],
    )
    assert created["login_url"].endswith(f"/auth/login?provider={created['id']}")
    again = invoke(cli, *args, "--preset", "clever", "--tenant", "cv-1", env=env)
    assert again.exit_code == 1 and "already has a provider named 'Clever'" in again.stderr
    bad = invoke(cli, "providers", "add", "--district", district, "--name", "X", "--client-id", "c", env=env)
    assert bad.exit_code == 1 and "issuer" in bad.stderr  # a generic provider names its issuer

    settings = Settings(environment="test", database_url=database_url, secret_key=SECRET, **auth_settings)

    async def through_the_api() -> tuple[Any, Any]:
        async with running_app(create_app(settings)) as gateway:
            listed = (await gateway.get("/auth/providers", headers=auth("edtech"))).json()
            audit = (await gateway.get("/auth/audit", headers=auth("edtech"))).json()["items"]
        return listed, audit

    listed, audit = asyncio.run(through_the_api())  # the CLI runs its own loop: this test has none
    assert [p["id"] for p in listed] == [created["id"]] and listed[0]["has_client_secret"] is False
    assert (audit[0]["kind"], audit[0]["subject"]) == ("provider_created", "platform:operator")
    assert uuid.UUID(audit[0]["provider_id"]) == uuid.UUID(created["id"])
