"""`edtech`: the platform's command line for district staff and operators.

Commands that act for a district (integrations, roster imports, a district admin's replay) call
the API with a bearer token, as any client does; commands that act on the whole platform (dead
letters, an operator's replay, the retention) run on a service's machine with the service's own
settings, as `python -m shared.republish` does. Every command has `--help`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shared import VERSION
from shared.cli import integrations, operations, providers, rosters
from shared.cli.api import Connection

app = typer.Typer(
    name="edtech",
    help="Operate the EdTech platform: integrations, roster imports, dead letters, replays, retention, "
    "identity providers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(integrations.app, name="integrations")
app.add_typer(rosters.app, name="roster")
app.add_typer(operations.deadletters, name="dead-letters")
app.add_typer(operations.outbox, name="outbox")
app.add_typer(operations.retention, name="retention")
app.add_typer(providers.app, name="providers")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edtech {VERSION}")
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="EDTECH_URL", help="The platform's API (the gateway or the edge).")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="EDTECH_TOKEN", help="Bearer token from your district's IdP (or the dev issuer)."
        ),
    ] = None,
    timeout_s: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per API request.")] = 60.0,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    """Options every command shares: where the API is and who calls it."""
    ctx.obj = Connection(url=url, token=token, timeout_s=timeout_s)


def main() -> None:
    """Run the command line (the `edtech` console script)."""
    app()
