"""`edtech integrations`: an analytics district's LMS integrations (edtech or admin token)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.cli.api import answer, connection

app = typer.Typer(help="List, create and rotate the district's LMS integrations.", no_args_is_help=True)
URL = "/api/analytics/integrations"
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]


def _print_secret(doc: dict[str, Any]) -> None:
    # Plain lines, never wrapped or cut: they are pasted into an LMS's settings.
    typer.echo(f"integration {doc['id']} ({doc['name']})")
    typer.echo(f"secret: {doc['secret']}  (shown this once: store it now)")
    for standard, endpoint in doc["endpoints"].items():
        typer.echo(f"{standard}:")
        typer.echo(f"  url: {endpoint['url']}")
        typer.echo(f"  auth: {endpoint['auth']}")
        for name in ("username", "password", "token"):
            if endpoint.get(name):
                typer.echo(f"  {name}: {endpoint[name]}")


@app.command("list")
def list_integrations(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List the district's integrations (never their secrets)."""
    with connection(ctx).client() as client:
        page = answer(client.get(URL, params={"limit": limit}))
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    table = Table(title=f"{page['total']} integrations")
    table.add_column("id", no_wrap=True, min_width=36)  # copied into `rotate-secret`: never cut
    for column in ("name", "tool", "enabled", "created", "secret rotated"):
        table.add_column(column)
    for item in page["items"]:
        table.add_row(
            item["id"],
            item["name"],
            item["tool_id"] or "-",
            "yes" if item["enabled"] else "no",
            item["created_at"][:19],
            (item["rotated_at"] or "-")[:19],
        )
    Console().print(table)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the district calls it, e.g. 'Canvas - Lincoln High'.")],
    tool_id: Annotated[
        uuid.UUID | None, typer.Option(help="Bind every event it posts to this catalog tool.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an integration; prints its secret and each standard's URL and credentials, once."""
    body: dict[str, Any] = {"name": name}
    if tool_id is not None:
        body["tool_id"] = str(tool_id)
    with connection(ctx).client() as client:
        doc = answer(client.post(URL, json=body), 201)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        _print_secret(doc)


@app.command("rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    integration_id: Annotated[uuid.UUID, typer.Argument(help="The integration's id (see `list`).")],
    as_json: JsonOption = False,
) -> None:
    """Issue a new secret (the old one keeps working for the grace period); prints it once."""
    with connection(ctx).client() as client:
        doc = answer(client.post(f"{URL}/{integration_id}/rotate-secret"))
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        _print_secret(doc)
        expires = doc.get("previous_secret_expires_at")
        if expires:
            typer.echo(f"the previous secret works until {expires}")
