"""`make audit`: every pin of the lock files against the known vulnerabilities.

Two sources answer, the second only for the pins the first could not look up:

1. **pip-audit** (PyPA's auditor), which reads each pinned release's known vulnerabilities from
   PyPI's per-release JSON. It is the audit; where it answers for every pin, nothing else is read.
2. **PyPI's project JSON** (`/pypi/<project>/json`, https://docs.pypi.org/api/json/): its
   `vulnerabilities` are those of the project's newest release, so they answer for a pin that *is*
   the newest release, and for no other. Some networks (this project's CI among them) reach PyPI's
   project JSON but not its per-release JSON nor osv.dev; this is what still answers there.

A pin that neither answered for is listed as *not audited*, with why (a newer release exists, or
the newest needs another Python). It fails the audit only with `--strict`: a pin we could not look
up is not known to be vulnerable, and saying so plainly beats failing every build on it.

Exit status: 0 when no known vulnerability affects a pin (those named with `--ignore-vuln` aside),
1 when one does (or, with `--strict`, when a pin was not audited), 2 when a source could not be
read at all.
"""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
LOCKS = (REPO / "requirements.lock", REPO / "requirements-dev.lock")
PYPI = "https://pypi.org"
PIP_AUDIT_TIMEOUT_S = 300.0


@dataclass(frozen=True, order=True)
class Pin:
    """One `name==version` line of a lock file (name canonicalized)."""

    name: str
    version: str


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()

    def named_by(self, ignored: set[str]) -> bool:
        return self.id in ignored or any(alias in ignored for alias in self.aliases)


@dataclass
class Finding:
    """What the sources said of one pin: `source` is None while nothing answered for it."""

    pin: Pin
    source: str | None = None
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    not_audited_because: str = ""


def read_pins(lock: Path) -> list[Pin]:
    """The `name==version` pins of a pip-compile lock file (hash and comment lines skipped)."""
    pins = []
    for line in lock.read_text().splitlines():
        text = line.split("#", 1)[0].strip().removesuffix("\\").strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ValueError(f"{lock.name}: not a pin: {text!r}") from exc
        versions = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if len(versions) != 1:
            raise ValueError(f"{lock.name}: {requirement.name} is not pinned to one version")
        pins.append(Pin(canonicalize_name(requirement.name), versions[0]))
    return pins


def _vulnerability(entry: dict[str, Any]) -> Vulnerability:
    """A vulnerability as pip-audit's JSON (`id`, `aliases`, `fix_versions`) or PyPI's
    (`id`, `aliases`, `fixed_in`) gives it."""
    fixed = entry.get("fix_versions") or entry.get("fixed_in") or ()
    return Vulnerability(str(entry["id"]), tuple(entry.get("aliases") or ()), tuple(fixed))


def apply_pip_audit_report(findings: dict[Pin, Finding], report: dict[str, Any]) -> None:
    """Take pip-audit's answers (its `--format json` report): a dependency with `vulns` was looked
    up; one with a `skip_reason` was not, and is left for the next source."""
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency or "version" not in dependency:
            continue
        pin = Pin(canonicalize_name(dependency["name"]), dependency["version"])
        if pin in findings:
            findings[pin].source = "pip-audit"
            findings[pin].vulnerabilities = [_vulnerability(v) for v in dependency.get("vulns", [])]


def run_pip_audit(locks: list[Path], ignored: set[str], *, timeout_s: float) -> dict[str, Any] | None:
    """pip-audit's JSON report on the locks, read as pins (`--no-deps --disable-pip`: the locks are
    complete, nothing is installed to audit them); None when it did not finish in `timeout_s` (it
    asks PyPI pin by pin, and a network that swallows those requests would hold it for hours)."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "report.json"
        command = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--progress-spinner=off"]
        for lock in locks:
            command += ["-r", str(lock)]
        for vulnerability in sorted(ignored):
            command += ["--ignore-vuln", vulnerability]
        command += ["--timeout", "10", "--format", "json", "--output", str(output)]
        try:
            # Exit 1 means "vulnerabilities found", which the report says too: read the report.
            completed = subprocess.run(  # noqa: S603
                command, capture_output=True, text=True, check=False, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            return None
        if not output.exists():
            raise RuntimeError(f"pip-audit wrote no report: {completed.stderr.strip()[-500:]}")
        report: dict[str, Any] = json.loads(output.read_text())
        return report


def _python_version() -> Version:
    return Version(platform.python_version())


def judge_by_project(finding: Finding, project: dict[str, Any], python: Version) -> None:
    """Apply PyPI's project JSON to a pin pip-audit could not look up."""
    newest = str(project["info"]["version"])
    if Version(newest) == Version(finding.pin.version):
        finding.source = "PyPI project JSON"
        finding.vulnerabilities = [_vulnerability(v) for v in project.get("vulnerabilities") or []]
        return
    requires = project["info"].get("requires_python") or ""
    try:
        needs_other_python = bool(requires) and python not in SpecifierSet(requires)
    except ValueError:
        needs_other_python = False
    finding.not_audited_because = (
        f"newest is {newest}, which needs Python {requires}"
        if needs_other_python
        else f"newest is {newest}: the project JSON speaks for it alone"
    )


async def fetch_projects(names: list[str], pypi: str, *, concurrency: int = 8) -> dict[str, dict[str, Any]]:
    """Each project's JSON from PyPI, a few requests at a time, each retried on connection errors."""
    limit = asyncio.Semaphore(concurrency)
    transport = httpx.AsyncHTTPTransport(retries=3)
    async with httpx.AsyncClient(base_url=pypi, timeout=30.0, transport=transport) as client:

        async def one(name: str) -> tuple[str, dict[str, Any]]:
            async with limit:
                response = await client.get(f"/pypi/{name}/json", headers={"Accept": "application/json"})
                response.raise_for_status()
                document: dict[str, Any] = response.json()
                return name, document

        return dict(await asyncio.gather(*(one(name) for name in names)))


def audit(
    locks: list[Path], *, pypi: str, use_pip_audit: bool, ignored: set[str], console: Console
) -> tuple[list[Finding], int]:
    """Every pin's finding, and how many pins pip-audit answered for."""
    pins = sorted({pin for lock in locks for pin in read_pins(lock)})
    findings = {pin: Finding(pin) for pin in pins}
    if use_pip_audit:
        answers = run_pip_audit(locks, ignored, timeout_s=PIP_AUDIT_TIMEOUT_S)
        if answers is None:
            console.print(f"pip-audit did not finish in {PIP_AUDIT_TIMEOUT_S:.0f} s: not used.")
        else:
            apply_pip_audit_report(findings, answers)
    by_pip_audit = sum(1 for finding in findings.values() if finding.source == "pip-audit")
    left = [finding for finding in findings.values() if finding.source is None]
    if left:
        projects = asyncio.run(fetch_projects(sorted({f.pin.name for f in left}), pypi))
        python = _python_version()
        for finding in left:
            judge_by_project(finding, projects[finding.pin.name], python)
    return list(findings.values()), by_pip_audit


def report(
    findings: list[Finding], by_pip_audit: int, ignored: set[str], console: Console
) -> tuple[int, int]:
    """Print the audit; return (vulnerable pins, pins not audited)."""
    vulnerable = [f for f in findings if any(not v.named_by(ignored) for v in f.vulnerabilities)]
    not_audited = [f for f in findings if f.source is None]
    by_project = sum(1 for f in findings if f.source == "PyPI project JSON")
    console.print(
        f"{len(findings)} pins: {by_pip_audit} looked up by pip-audit, {by_project} by PyPI's project "
        f"JSON (newest releases), {len(not_audited)} not audited."
    )
    if vulnerable:
        table = Table(
            "package", "version", "vulnerability", "aliases", "fixed in", title="Known vulnerabilities"
        )
        for finding in vulnerable:
            for vulnerability in finding.vulnerabilities:
                if not vulnerability.named_by(ignored):
                    table.add_row(
                        finding.pin.name,
                        finding.pin.version,
                        vulnerability.id,
                        ", ".join(vulnerability.aliases),
                        ", ".join(vulnerability.fixed_in) or "no fix yet",
                    )
        console.print(table)
    if not_audited:
        table = Table("package", "version", "why", title="Not audited (no source answered for the pin)")
        for finding in not_audited:
            table.add_row(finding.pin.name, finding.pin.version, finding.not_audited_because)
        console.print(table)
    if not vulnerable:
        console.print("No known vulnerability affects an audited pin.")
    return len(vulnerable), len(not_audited)


def main(
    lock: Annotated[
        list[Path] | None,
        typer.Option("--lock", exists=True, dir_okay=False, help="A lock file to audit (default: both)."),
    ] = None,
    pypi: Annotated[str, typer.Option(help="PyPI's address, for its project JSON.")] = PYPI,
    pip_audit: Annotated[bool, typer.Option(help="Ask pip-audit first.")] = True,
    ignore_vuln: Annotated[
        list[str] | None,
        typer.Option("--ignore-vuln", help="A vulnerability id (or alias) accepted after review."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail when a pin could not be audited.")] = False,
) -> None:
    """Audit the locked dependencies against the known vulnerabilities."""
    console = Console(width=120)
    ignored = set(ignore_vuln or [])
    try:
        findings, by_pip_audit = audit(
            list(lock or LOCKS),
            pypi=pypi.rstrip("/"),
            use_pip_audit=pip_audit,
            ignored=ignored,
            console=console,
        )
    except (httpx.HTTPError, RuntimeError, ValueError, InvalidVersion) as exc:
        console.print(f"audit not done: {exc}")
        raise typer.Exit(2) from exc
    vulnerable, not_audited = report(findings, by_pip_audit, ignored, console)
    raise typer.Exit(1 if vulnerable or (strict and not_audited) else 0)


if __name__ == "__main__":
    typer.run(main)
