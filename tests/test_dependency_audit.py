"""`make audit` (tools/dependency_audit.py): the pins of the lock files are read as pip installs
them; a vulnerability PyPI lists for a pin fails the audit, naming it; a pin no source could look up
is reported as not audited, not as clean; a source that cannot be read stops the audit.

PyPI is played on loopback by documents shaped as its JSON API documents them
(https://docs.pypi.org/api/json/: `info.version`, `info.requires_python`, and `vulnerabilities`
with `id`, `aliases`, `fixed_in`, `details`, `link`, `source`, `summary`, `withdrawn`)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.loopback_json import JsonHost
from tools.dependency_audit import LOCKS, Finding, Pin, apply_pip_audit_report, read_pins

REPO = Path(__file__).resolve().parents[1]

JINJA_ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"],
    "fixed_in": ["3.1.7"],
    "details": "A sandbox escape.",
    "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
    "source": "osv",
    "summary": None,
    "withdrawn": None,
}


def project(version: str, *, vulnerabilities: list[dict[str, Any]] | None = None, python: str = "") -> Any:
    return {
        "info": {"name": "x", "version": version, "requires_python": python},
        "releases": {},
        "urls": [],
        "vulnerabilities": vulnerabilities or [],
    }


class FakePyPI:
    """PyPI's project JSON on loopback: `documents` by project name; others answer 404."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.status = 200
        self.asked: list[str] = []
        self.host = JsonHost(self._answer)
        self.url = self.host.origin

    def _answer(self, path: str) -> tuple[int, Any]:
        self.asked.append(path)
        match = re.fullmatch(r"/pypi/([^/]+)/json", path)
        document = self.documents.get(match.group(1)) if match else None
        if document is None:
            return 404, {}
        return (self.status, document) if self.status == 200 else (self.status, {})


@pytest.fixture
def pypi() -> Iterator[FakePyPI]:
    server = FakePyPI()
    yield server
    server.host.stop()


def run_audit(pypi: FakePyPI, lock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.dependency_audit", "--lock", str(lock), "--pypi", pypi.url]
    return subprocess.run(
        [*command, "--no-pip-audit", *args], capture_output=True, text=True, cwd=REPO, timeout=60, check=False
    )


def write_lock(tmp_path: Path, *pins: str) -> Path:
    lock = tmp_path / "requirements.lock"
    lines = ["# pip-compile's header", "#"]
    for pin in pins:
        lines += [f"{pin} \\", "    --hash=sha256:" + "0" * 64, "    # via -r pyproject.toml"]
    lock.write_text("\n".join(lines) + "\n")
    return lock


def test_the_locks_are_read_pin_by_pin_as_pip_installs_them() -> None:
    for lock in LOCKS:
        text = lock.read_text()
        expected = {
            (re.sub(r"[-_.]+", "-", name).lower(), version)
            for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", text, re.MULTILINE)
        }
        assert {(pin.name, pin.version) for pin in read_pins(lock)} == expected
        assert len(expected) > 50
    declared = (REPO / "pyproject.toml").read_text()
    assert Pin("fastapi", "0.165.0") in read_pins(LOCKS[0]) and '"fastapi==0.165.0"' in declared


def test_a_line_that_is_not_one_pinned_version_is_refused_naming_it(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("fastapi>=0.100 \\\n    --hash=sha256:00\n")
    with pytest.raises(ValueError, match="fastapi is not pinned to one version"):
        read_pins(lock)


def test_a_vulnerability_of_a_pin_that_is_the_newest_release_fails_the_audit(
    pypi: FakePyPI, tmp_path: Path
) -> None:
    pypi.documents = {"jinja2": project("3.1.6", vulnerabilities=[JINJA_ADVISORY]), "click": project("8.3.1")}
    lock = write_lock(tmp_path, "jinja2==3.1.6", "Click==8.3.1")
    done = run_audit(pypi, lock)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 pins: 0 looked up by pip-audit, 2 by PyPI's project JSON" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "PYSEC-2099-1" in line)
    assert "jinja2" in row and "3.1.6" in row and "3.1.7" in row and "CVE-2099-0001" in row
    assert "click" not in done.stdout.split("Known vulnerabilities")[1]
    # Names are asked for as canonical names, as PyPI redirects them.
    assert sorted(pypi.asked) == ["/pypi/click/json", "/pypi/jinja2/json"]


def test_a_vulnerability_accepted_by_its_id_or_an_alias_does_not_fail_it(
    pypi: FakePyPI, tmp_path: Path
) -> None:
    pypi.documents = {"jinja2": project("3.1.6", vulnerabilities=[JINJA_ADVISORY])}
    lock = write_lock(tmp_path, "jinja2==3.1.6")
    for accepted in ("PYSEC-2099-1", "GHSA-xxxx-yyyy-zzzz"):
        done = run_audit(pypi, lock, "--ignore-vuln", accepted)
        assert done.returncode == 0, done.stdout
        assert "No known vulnerability affects an audited pin." in done.stdout


def test_a_pin_behind_the_newest_release_is_not_audited_and_says_why(pypi: FakePyPI, tmp_path: Path) -> None:
    # The newest release's list says nothing of the pin: an old release may have a fixed flaw.
    pypi.documents = {
        "httpx": project("0.30.0"),
        "numpy": project("9.0.0", python=">=9.0"),
        "jinja2": project("3.1.6"),
    }
    lock = write_lock(tmp_path, "httpx==0.29.0", "numpy==2.4.6", "jinja2==3.1.6")
    done = run_audit(pypi, lock)
    assert done.returncode == 0, done.stdout
    assert "3 pins: 0 looked up by pip-audit, 1 by PyPI's project JSON (newest releases), 2 not audited." in (
        done.stdout
    )
    lines = done.stdout.splitlines()
    assert any("httpx" in line and "newest is 0.30.0" in line for line in lines)
    assert any("numpy" in line and "needs Python >=9.0" in line for line in lines)
    strict = run_audit(pypi, lock, "--strict")
    assert strict.returncode == 1


def test_a_source_that_cannot_be_read_stops_the_audit(pypi: FakePyPI, tmp_path: Path) -> None:
    pypi.documents = {"jinja2": project("3.1.6")}
    pypi.status = 503
    done = run_audit(pypi, write_lock(tmp_path, "jinja2==3.1.6"))
    assert done.returncode == 2
    assert "audit not done" in done.stdout and "503" in done.stdout


def test_pip_audits_answers_are_taken_and_its_skips_left_for_the_project_json() -> None:
    # pip-audit's `--format json` report, as its README shows it.
    report = {
        "dependencies": [
            {
                "name": "Flask",
                "version": "0.5",
                "vulns": [
                    {
                        "id": "PYSEC-2019-179",
                        "fix_versions": ["1.0"],
                        "aliases": ["CVE-2019-1010083"],
                        "description": "The Pallets Project Flask before 1.0 is affected by...",
                    }
                ],
            },
            {"name": "jinja2", "version": "3.1.6", "vulns": []},
            {
                "name": "numpy",
                "skip_reason": "Dependency not found on PyPI and could not be audited: numpy (2.4.6)",
            },
        ],
        "fixes": [],
    }
    pins = [Pin("flask", "0.5"), Pin("jinja2", "3.1.6"), Pin("numpy", "2.4.6")]
    findings = {pin: Finding(pin) for pin in pins}
    apply_pip_audit_report(findings, report)
    flask, jinja, numpy = (findings[pin] for pin in pins)
    assert flask.source == "pip-audit" and [v.id for v in flask.vulnerabilities] == ["PYSEC-2019-179"]
    assert flask.vulnerabilities[0].fixed_in == ("1.0",)
    assert jinja.source == "pip-audit" and jinja.vulnerabilities == []
    assert numpy.source is None  # left for the next source
