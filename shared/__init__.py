"""The platform's own library: what every service needs, written once."""

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    """The version `pyproject.toml` gives, as installed (else read from the checkout's file)."""
    try:
        return version("edtech-platform")
    except PackageNotFoundError:  # run from a checkout that was never installed
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])


VERSION = _version()
"""The platform's version: `pyproject.toml` owns it; the apps and the OpenAPI documents show it."""
