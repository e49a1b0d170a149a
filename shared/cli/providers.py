"""`edtech providers add`: an operator registers a district's first identity provider on the
gateway's machine (its settings, `GATEWAY_*`); later changes go through the API (`/auth/providers`)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from shared.cli.api import fail
from shared.errors import ProblemError

app = typer.Typer(
    help="Register a district's identity provider (the gateway's settings).", no_args_is_help=True
)


@app.command("add")
def add(
    district: Annotated[str, typer.Option(help="The district the provider signs people in for.")],
    name: Annotated[str, typer.Option(help="A name for it, unique in the district.")],
    client_id: Annotated[str, typer.Option(help="The platform's client id at the provider.")],
    preset: Annotated[str, typer.Option(help="generic, google, entra, clever or classlink.")] = "generic",
    issuer: Annotated[str | None, typer.Option(help="Its issuer (a preset's own when left out).")] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(envvar="EDTECH_CLIENT_SECRET", help="The client secret (or EDTECH_CLIENT_SECRET)."),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="The district's tenant at a shared provider.")] = None,
    roles_claim: Annotated[str | None, typer.Option(help="The claim carrying roles.")] = None,
    role_map: Annotated[
        str | None, typer.Option(help='JSON: claim value -> role, e.g. {"Staff": "edtech"}.')
    ] = None,
    default_role: Annotated[
        list[str] | None, typer.Option(help="Role of whoever has none mapped (repeatable).")
    ] = None,
) -> None:
    """Register the provider and print it (its login URL is what a portal tile links to)."""
    from services.gateway.config import Settings
    from services.gateway.signin.operator import register_provider
    from services.gateway.signin.providers.schemas import ProviderCreate

    given: dict[str, object] = {"name": name, "client_id": client_id, "preset": preset}
    for key, value in (
        ("issuer", issuer),
        ("client_secret", client_secret),
        ("tenant", tenant),
        ("roles_claim", roles_claim),
    ):
        if value is not None:
            given[key] = value
    if role_map is not None:
        try:
            given["role_map"] = json.loads(role_map)
        except ValueError as exc:
            raise typer.BadParameter(f"not JSON: {exc}", param_hint="--role-map") from exc
    if default_role:
        given["default_roles"] = default_role
    try:
        data = ProviderCreate.model_validate(given)
        settings = Settings()
    except (ValidationError, ValueError) as exc:
        fail(str(exc))
    try:
        created = asyncio.run(register_provider(settings, district_id=district, data=data))
    except ProblemError as exc:
        fail(exc.detail)
    Console(soft_wrap=True).print_json(created.model_dump_json())
