"""`edtech roster import`: upload OneRoster files to analytics and follow the background import."""

from __future__ import annotations

import contextlib
import json
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.cli.api import answer, connection, fail

app = typer.Typer(help="Import OneRoster rosters into analytics.", no_args_is_help=True)
URL = "/api/analytics/rosters/import"
FINISHED = ("succeeded", "failed")


def _rows(data: bytes) -> int:
    """Data rows of a CSV (lines after the header): an estimate for the progress bar."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(0, lines - 1)


def expected_rows(paths: list[Path]) -> dict[str, int]:
    """Rows per data file (lower-case file name) of the files or zips given, read locally."""
    rows: dict[str, int] = {}
    for path in paths:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    name = PurePosixPath(member.filename).name.lower()
                    if name.endswith(".csv") and not member.is_dir():
                        rows[name] = _rows(archive.read(member))
        else:
            rows[path.name.lower()] = _rows(path.read_bytes())
    return rows


def _follow(client: Any, location: str, expected: dict[str, int], *, poll_s: float, console: Console) -> Any:
    """Poll the import's status resource until it ends, with a progress bar per file."""
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=console) as progress:
        # What the import does now (the file it reads, then applying: the longest step of a
        # large import, when every file's bar is already full).
        step = progress.add_task("import", total=None, note="queued")
        while True:
            doc = answer(client.get(location))
            progress.update(step, note=doc["step"] or doc["state"])
            for name, done in doc["files"].items():
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=expected.get(name.lower()), note="")
                total = max(expected.get(name.lower(), 0), done["rows"])
                note = f"{done['rejected']} rejected" if done["rejected"] else ""
                progress.update(tasks[name], completed=done["rows"], total=total or None, note=note)
            if doc["state"] in FINISHED:
                for name, task in tasks.items():  # the file is read through: the bar says so
                    rows = doc["files"][name]["rows"]
                    progress.update(task, completed=rows, total=rows)
                progress.update(step, completed=1, total=1, note=doc["state"])
                return doc
            time.sleep(poll_s)


def _entity(file_name: str) -> str:
    """What a result counts a file's rows under: `academicSessions.csv` -> `academic_sessions`."""
    stem = file_name.removesuffix(".csv")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in stem)


def _report(doc: dict[str, Any], console: Console) -> None:
    result = doc.get("result") or {}
    table = Table(
        "file", "mode", "rows", "accepted", "rejected", "upserted", "deleted", title="roster import"
    )
    for name, done in doc["files"].items():
        table.add_row(
            name,
            result.get("modes", {}).get(name, "-"),
            str(done["rows"]),
            str(done["accepted"]),
            str(done["rejected"]),
            str(result.get("upserted", {}).get(_entity(name), "-")),
            str(result.get("deleted", {}).get(_entity(name), "-")),
        )
    console.print(table)
    if doc["errors_total"]:
        errors = Table(
            "file", "line", "field", "message", title=f"{doc['errors_total']} bad rows (first shown)"
        )
        for error in doc["errors"][:20]:
            errors.add_row(error["file"], str(error["line"]), error["field"], error["message"])
        console.print(errors)


@app.command("import")
def import_roster(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="OneRoster CSV files (users.csv, ...) or a zip of them.",
        ),
    ],
    wait: Annotated[bool, typer.Option(help="Follow the import to its end with a progress bar.")] = True,
    poll_s: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between status reads.")] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final status as JSON.")] = False,
) -> None:
    """Upload OneRoster files (or a zip); the import runs in the background and is followed to its
    end (exit status 1 if it failed: then nothing of the upload was applied)."""
    console = Console(stderr=as_json)
    expected = expected_rows(files)
    with contextlib.ExitStack() as stack, connection(ctx).client() as client:
        parts = [
            (
                "file",
                (
                    path.name,
                    stack.enter_context(path.open("rb")),
                    "application/zip" if zipfile.is_zipfile(path) else "text/csv",
                ),
            )
            for path in files
        ]
        accepted = client.post(URL, files=parts)
        doc = answer(accepted, 202, 200)
        location = accepted.headers.get("location") or f"/api/analytics/rosters/imports/{doc['id']}"
        console.print(f"import {doc['id']} {doc['state']}: {location}")
        if wait and doc["state"] not in FINISHED:
            doc = _follow(client, location, expected, poll_s=poll_s, console=console)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    elif doc["state"] in FINISHED:
        _report(doc, console)
    if doc["state"] == "failed":
        fail(f"import {doc['id']} failed, nothing of it applied: {doc.get('failure')}")
    if doc["state"] == "succeeded":
        console.print(f"import {doc['id']} succeeded")
