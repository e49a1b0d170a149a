"""`python -m shared.settings_doc`: the README's table of environment variables, from the
settings classes themselves (so the table cannot drift from the code)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

from pydantic_settings import BaseSettings

from shared.config import ServiceSettings

PROCESSES = ("gateway", "catalog", "pilots", "analytics")


def settings_class(process: str) -> type[BaseSettings]:
    """The Settings class of a process."""
    cls: type[BaseSettings] = importlib.import_module(f"services.{process}.config").Settings
    return cls


def env_names(process: str) -> list[str]:
    """Every environment variable a process reads."""
    cls = settings_class(process)
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [(prefix + name).upper() for name in cls.model_fields]


def _default(field: Any) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    if value in ("", None, [], {}):
        return "-"
    return f"`{json.dumps(value, default=str) if not isinstance(value, str) else value}`"


def _rows(process: str, *, skip: set[str]) -> Iterator[str]:
    cls = settings_class(process)
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    for name, field in cls.model_fields.items():
        if name in skip:
            continue
        base = ServiceSettings.model_fields.get(name)
        description = (field.description or (base.description if base else "") or "").replace("|", "\\|")
        yield f"| `{prefix}{name.upper()}` | {_default(field)} | {description} |"


def table() -> str:
    """The markdown tables: shared service settings once, then each process's own."""
    common = set(ServiceSettings.model_fields)
    out = [
        "Shared by catalog, pilots and analytics (shown with `CATALOG_`; the same names with",
        "`PILOTS_` and `ANALYTICS_`); each service's default database is `sqlite+aiosqlite:///./var/<service>.db`:",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
        *[r for r in _rows("catalog", skip=set()) if any(f"`CATALOG_{n.upper()}`" in r for n in common)],
    ]
    for process in PROCESSES:
        own = list(_rows(process, skip=common if process != "gateway" else set()))
        out += [
            "",
            f"{process.capitalize()}:",
            "",
            "| variable | default | meaning |",
            "| --- | --- | --- |",
            *own,
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(table(), end="")
