"""The README keeps its promises: the two commands first, and every environment variable documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import ServiceSettings
from shared.settings_doc import PROCESSES, env_names

README = Path(__file__).resolve().parents[1] / "README.md"
SHARED = {name.upper() for name in ServiceSettings.model_fields}


def documented(name: str, text: str) -> bool:
    """Whether README mentions the variable (shared service settings appear once, as CATALOG_...)."""
    if f"`{name}`" in text:
        return True
    prefix, _, field = name.partition("_")
    return prefix in ("PILOTS", "ANALYTICS") and field in SHARED and f"`CATALOG_{field}`" in text


def test_readme_opens_with_the_run_and_test_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:12])
    assert "make run" in first_screen
    assert "make test" in first_screen


@pytest.mark.parametrize("process", PROCESSES)
def test_every_environment_variable_is_in_the_readme(process: str) -> None:
    text = README.read_text()
    missing = [name for name in env_names(process) if not documented(name, text)]
    assert missing == [], f"undocumented: {missing}; paste `python -m shared.settings_doc` into README.md"
