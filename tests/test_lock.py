"""The lock files pin what pyproject.toml asks for: every direct dependency at its pinned version,
with hashes, the runtime lock holding no development tool (the image installs it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.dependency_audit import read_pins

ROOT = Path(__file__).resolve().parents[1]


def locked(name: str) -> dict[str, str]:
    """Package name -> version pinned in a lock file, read as `make audit` reads it; every pin must
    carry hashes."""
    path = ROOT / name
    for block in re.split(r"\n(?=\S)", path.read_text()):
        if not block.startswith("#"):
            assert "--hash=sha256:" in block, f"{name}: {block.split()[0]} has no hash"
    return {pin.name: pin.version for pin in read_pins(path)}


def pinned(group: str | None) -> dict[str, str]:
    """What pyproject.toml pins: runtime dependencies, or an extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    out: dict[str, str] = {}
    for spec in specs:
        requirement = Requirement(spec)
        (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
        out[canonicalize_name(requirement.name)] = version
    return out


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.lock", [None]), ("requirements-dev.lock", [None, "dev"])]
)
def test_every_pinned_dependency_is_locked_at_its_version_with_hashes(
    lock: str, groups: list[str | None]
) -> None:
    pins = locked(lock)
    for group in groups:
        for name, version in pinned(group).items():
            assert pins.get(name) == version, (
                f"{lock}: {name} is {pins.get(name)}, pyproject.toml pins {version}; make lock"
            )


def test_the_runtime_lock_holds_no_development_tool() -> None:
    runtime = locked("requirements.lock")
    only_dev = set(pinned("dev")) - set(runtime)
    assert only_dev, "the dev extra adds nothing?"
    assert not {"pytest", "ruff", "mypy", "hypothesis"} & set(runtime)
