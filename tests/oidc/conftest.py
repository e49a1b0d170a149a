"""The OpenID Provider fixtures (tests/fixtures/oidc.py) for the harness's own tests."""

from tests.fixtures.oidc import oidc_provider, oidc_provider_installed, oidc_providers

__all__ = ["oidc_provider", "oidc_provider_installed", "oidc_providers"]
